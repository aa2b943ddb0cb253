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
		return "Generated from " + ps[0].ID + " for a prompt naming " + prose(prompt), nil
	}
	g, err := h.Page(req)
	if err != nil {
		t.Fatal(err)
	}
	if g.Generator != "llm" || !strings.HasPrefix(g.Text, "Generated from p381") || !strings.Contains(g.Text, "Princhetta") {
		t.Fatalf("with a generator: %q (%s)", g.Text, g.Generator)
	}
}

func prose(prompt string) string {
	if strings.Contains(prompt, "Princhetta") {
		return "Princhetta"
	}
	return "nobody"
}
