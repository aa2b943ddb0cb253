package compose

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gibsey/gibsey/sdk/actor"
)

var passages = []actor.Passage{
	{ID: "p381", CharacterID: "princhetta", SectionID: 8, PageNumber: 381, Text: "In a theme park, when an attraction loses traffic, they are destroyed and replaced. And this text functions in a similar manner."},
	{ID: "p382", CharacterID: "princhetta", SectionID: 8, PageNumber: 382, Text: "Because, like a brain, I have thought all of these thoughts before. So many times that I have begun to carve pathways for myself."},
	{ID: "p383", CharacterID: "princhetta", SectionID: 8, PageNumber: 383, Text: "These pathways carve pathways, and these pathways carve other pathways. I am sure you get the idea by now, reader."},
}

func req(o string) *actor.Request {
	return &actor.Request{Kind: "page", EventID: "e1", CharacterID: "princhetta", SectionID: 8, Orientation: o}
}

func rng() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func TestPageQuotesPassagesVerbatim(t *testing.T) {
	for _, o := range []string{"N", "E", "S", "W"} {
		p := Page(req(o), passages, rng())
		if len(p.Sources) == 0 {
			t.Fatalf("%s: no sources", o)
		}
		for _, s := range p.Sources {
			var text string
			for _, ps := range passages {
				if ps.ID == s.PassageID {
					text = ps.Text
				}
			}
			ex := strings.TrimSuffix(s.Excerpt, "…")
			if text == "" || !strings.Contains(text, ex) || !strings.Contains(p.Text, ex) {
				t.Errorf("%s: source %s excerpt %q is not quoted from its passage into the page", o, s.PassageID, s.Excerpt)
			}
		}
		if !strings.Contains(p.Title, "Princhetta") {
			t.Errorf("%s: title %q does not name the character", o, p.Title)
		}
	}
}

func TestOrientationsDiffer(t *testing.T) {
	seen := map[string]string{}
	for _, o := range []string{"N", "E", "S", "W"} {
		text := Page(req(o), passages, rng()).Text
		for other, t2 := range seen {
			if t2 == text {
				t.Errorf("orientations %s and %s gave the same page", o, other)
			}
		}
		seen[o] = text
	}
}

func TestSameSeedSamePage(t *testing.T) {
	a := Page(req("S"), passages, rng())
	b := Page(req("S"), passages, rng())
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same request and seed gave different pages")
	}
}

func TestWestRemembersRecentPages(t *testing.T) {
	r := req("W")
	r.RecentPages = []actor.PageRef{{PageID: "g1", CharacterID: "london-fox", SectionID: 2, Text: "The fox dissolved into the escalator, one step at a time."}}
	p := Page(r, passages, rng())
	if !strings.Contains(p.Text, "The fox dissolved into the escalator") {
		t.Fatalf("West page does not remember the recent page:\n%s", p.Text)
	}
	if p.Sources[0].Generated != "g1" {
		t.Fatalf("first source = %+v, want the recent page g1", p.Sources[0])
	}
}

func TestBlankWithoutPassages(t *testing.T) {
	p := Page(req("N"), nil, rng())
	if strings.TrimSpace(p.Text) == "" || len(p.Sources) != 0 {
		t.Fatalf("page without passages = %+v", p)
	}
}

func TestMeaningInTitleAndText(t *testing.T) {
	r := req("E")
	r.Meaning = "what the text is becoming; its appetite"
	p := Page(r, passages, rng())
	if !strings.Contains(p.Title, "what the text is becoming") || !strings.Contains(p.Text, "The glyph means: what the text is becoming") {
		t.Fatalf("meaning not used: title %q text %q", p.Title, p.Text)
	}
}
