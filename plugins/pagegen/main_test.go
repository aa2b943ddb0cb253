//go:build !wasip1

package main

import (
	"strings"
	"testing"

	"github.com/gibsey/gibsey/sdk/actor"
	"github.com/gibsey/gibsey/sdk/actor/actortest"
)

// The voice as a whole (retrieval through the SDK, composition, generate fallback), run
// natively against actortest's fake host.
func TestPageGeneratorNatively(t *testing.T) {
	h := actortest.New()
	h.ActorName = "pagegen"
	h.Passages = []actor.Passage{
		{ID: "p381", CharacterID: "princhetta", SectionID: 8, PageNumber: 381, Text: "In a theme park, when an attraction loses traffic, it is destroyed and replaced."},
		{ID: "x1", CharacterID: "london-fox", SectionID: 2, PageNumber: 40, Text: "London Fox is somewhere else entirely, on another floor of the mall."},
	}
	req := &actor.Request{EventID: "e-1", SessionID: "s-1", CharacterID: "princhetta", SectionID: 8, Orientation: "N"}
	p, err := h.Page(req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Text, "In a theme park, when an attraction loses traffic, it is destroyed and replaced.") || strings.Contains(p.Text, "London Fox is somewhere") {
		t.Fatalf("page does not quote (only) princhetta's passage:\n%s", p.Text)
	}
	if p.Generator != "compose" || len(p.Sources) != 1 || p.Sources[0].PageNumber != 381 {
		t.Fatalf("generator %q sources %+v", p.Generator, p.Sources)
	}
	again, _ := h.Page(req)
	if again.Text != p.Text {
		t.Fatal("same event, different page")
	}

	h.Generator = func(prompt string, ps []actor.Passage) (string, error) {
		return "Generated from " + ps[0].ID + " for a prompt naming " + nameIn(prompt), nil
	}
	g, err := h.Page(req)
	if err != nil {
		t.Fatal(err)
	}
	if g.Generator != "llm" || !strings.HasPrefix(g.Text, "Generated from p381") || !strings.Contains(g.Text, "Princhetta") {
		t.Fatalf("with a generator: %q (%s)", g.Text, g.Generator)
	}
}

func nameIn(prompt string) string {
	if strings.Contains(prompt, "Princhetta") {
		return "Princhetta"
	}
	return "nobody"
}

// An ask is answered from the whole novel, the named character's passages first, never from
// the current symbol's character only nor from generated pages.
func TestAskAnswersTheQuestionNatively(t *testing.T) {
	h := actortest.New()
	h.ActorName = "pagegen"
	h.Passages = []actor.Passage{
		{ID: "p381", CharacterID: "princhetta", SectionID: 8, PageNumber: 381, Text: "In a theme park, when an attraction loses traffic, it is destroyed and replaced."},
		{ID: "g:old", CharacterID: "london-fox", SectionID: 2, Text: "North: the text says what it says, and London Fox lets it. The page says: London Fox is nobody at all."},
		{ID: "p40", CharacterID: "london-fox", SectionID: 2, PageNumber: 40, Text: "London Fox builds minds in the basement of the mall, far from the food court."},
		{ID: "p150", CharacterID: "jacklyn-variance", SectionID: 5, PageNumber: 150, Text: "Jacklyn Variance watches the monitors all night, and the monitors watch her back."},
	}
	req := &actor.Request{EventID: "e-2", SessionID: "s-1", CharacterID: "princhetta", SectionID: 8, SymbolID: "princhetta", Orientation: "N", Prompt: "Who is London Fox?"}
	p, err := h.Page(req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Text, `You asked: "Who is London Fox?"`) || !strings.Contains(p.Text, "London Fox builds minds in the basement of the mall") {
		t.Fatalf("answer does not open with the question and quote London Fox's page:\n%s", p.Text)
	}
	if strings.Contains(p.Text, "theme park") || strings.Contains(p.Text, "nobody at all") {
		t.Fatalf("answer quotes the current character or a generated page:\n%s", p.Text)
	}
	if len(p.Sources) == 0 || p.Sources[0].PassageID != "p40" || p.Title != "You asked: Who is London Fox?" {
		t.Fatalf("title %q sources %+v", p.Title, p.Sources)
	}
	again, _ := h.Page(req)
	if again.Text != p.Text {
		t.Fatal("same question, different page")
	}

	h.Generator = func(prompt string, ps []actor.Passage) (string, error) {
		for _, p := range ps {
			if strings.HasPrefix(p.ID, "g:") {
				return "", nil
			}
		}
		if !strings.Contains(prompt, "Who is London Fox?") {
			return "", nil
		}
		return "She builds minds.", nil
	}
	g, err := h.Page(req)
	if err != nil {
		t.Fatal(err)
	}
	if g.Generator != "llm" || g.Text != "You asked: \"Who is London Fox?\"\n\nShe builds minds." {
		t.Fatalf("with a generator: %q (%s)", g.Text, g.Generator)
	}
}
