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

var novel = []actor.Passage{
	{ID: "p40", CharacterID: "london-fox", SectionID: 2, PageNumber: 40, Text: "London Fox is a researcher who builds minds in the basement of the mall. She keeps her notebooks under the escalator."},
	{ID: "p150", CharacterID: "jacklyn-variance", SectionID: 5, PageNumber: 150, Text: "Jacklyn Variance watches the monitors all night. Every screen shows a reader she has never met."},
	{ID: "p381", CharacterID: "princhetta", SectionID: 8, PageNumber: 381, Text: "In a theme park, when an attraction loses traffic, they are destroyed and replaced."},
}

func ask(prompt string) *actor.Request {
	return &actor.Request{Kind: "page", EventID: "e2", CharacterID: "princhetta", SectionID: 8, SymbolID: "princhetta", Orientation: "N", Prompt: prompt}
}

func TestAnswerOpensWithTheQuestionAndQuotesTheNamedCharacter(t *testing.T) {
	for prompt, want := range map[string]string{
		"Who is London Fox?":                "London Fox is a researcher who builds minds",
		"What does Jacklyn Variance watch?": "Jacklyn Variance watches the monitors all night.",
	} {
		r := ask(prompt)
		p := Page(r, novel, rng())
		if !strings.HasPrefix(p.Text, `You asked: "`+prompt+`"`) {
			t.Errorf("%q: answer does not open with the question:\n%s", prompt, p.Text)
		}
		if !strings.Contains(p.Text, want) {
			t.Errorf("%q: answer does not quote %q:\n%s", prompt, want, p.Text)
		}
		if p.Title != "You asked: "+prompt {
			t.Errorf("%q: title %q", prompt, p.Title)
		}
		if strings.Contains(p.Text, "Princhetta") || strings.Contains(p.Title, "Princhetta") {
			t.Errorf("%q: the answer is about the current symbol's character:\n%s", prompt, p.Text)
		}
		if len(p.Sources) == 0 || !strings.Contains(want, strings.TrimSuffix(p.Sources[0].Excerpt, "…")[:20]) {
			t.Errorf("%q: first source %+v is not the quoted passage", prompt, p.Sources)
		}
		if !reflect.DeepEqual(p, Page(r, novel, rng())) {
			t.Errorf("%q: same question, different page", prompt)
		}
	}
}

func TestAnswerNeverQuotesGeneratedPages(t *testing.T) {
	gen := actor.Passage{ID: "g:pg1", CharacterID: "london-fox", Text: "London Fox, facing North, reads the page as it stands. The page says: London Fox is a fox."}
	p := Page(ask("Who is London Fox?"), append([]actor.Passage{gen}, novel...), rng())
	if strings.Contains(p.Text, "London Fox is a fox") {
		t.Fatalf("answer quotes a generated page:\n%s", p.Text)
	}
	p = Page(ask("Who is London Fox?"), []actor.Passage{gen}, rng())
	if len(p.Sources) != 0 || !strings.Contains(p.Text, "No page of the book answers") {
		t.Fatalf("answer from generated pages only: %+v", p)
	}
}

func TestGeneratedPagesOnlyFacingWestAndOnlyOneSentence(t *testing.T) {
	gen := actor.Passage{ID: "g:pg1", CharacterID: "princhetta", SectionID: 8, Text: "Princhetta, facing North, reads the page as it stands. The page says: And then: the mirror never blinks at the reader. The fox dissolved into the escalator one step at a time. What was read stays read."}
	ps := append([]actor.Passage{gen}, passages...)
	for _, o := range []string{"N", "E", "S"} {
		p := Page(req(o), ps, rng())
		for _, s := range p.Sources {
			if s.Generated != "" || s.PassageID == gen.ID {
				t.Errorf("%s: quotes a generated page: %+v", o, s)
			}
		}
		if strings.Contains(p.Text, "mirror never blinks") || strings.Contains(p.Text, "escalator") {
			t.Errorf("%s: page text quotes a generated page:\n%s", o, p.Text)
		}
	}
	r := req("W")
	r.RecentPages = []actor.PageRef{{PageID: "pg2", CharacterID: "princhetta", Text: "Another page entirely, with a sentence of its own here."}}
	p := Page(r, ps, rng())
	var gens []actor.Source
	for _, s := range p.Sources {
		if s.Generated != "" {
			gens = append(gens, s)
		}
	}
	if len(gens) != 1 || gens[0].Generated != "pg1" {
		t.Fatalf("West sources from generated pages = %+v, want exactly the retrieved pg1", gens)
	}
	if !strings.Contains(p.Text, "From a page you read earlier: \u201cThe fox dissolved into the escalator one step at a time.\u201d") {
		t.Fatalf("West page does not frame its one remembered sentence (or quotes template text):\n%s", p.Text)
	}
	if strings.Count(p.Text, "The page says: And then") > 0 {
		t.Fatalf("template text fed back:\n%s", p.Text)
	}
}

func TestTitlesUseCorpusNamesAndAreTrimmed(t *testing.T) {
	r := &actor.Request{Kind: "page", EventID: "e3", CharacterID: "cop-e-right", SectionID: 9, SymbolID: "S9 CR", Orientation: "E",
		Meaning: "Cop-E-Right facing East — what the text is becoming: its next move, its appetite; here it turns on pathways."}
	p := Page(r, passages, rng())
	if p.Title != "Cop-E-Right, facing East: what the text is becoming" {
		t.Errorf("title %q", p.Title)
	}
	r = &actor.Request{Kind: "page", EventID: "e4", CharacterID: "an-author", SectionID: 1, Orientation: "N"}
	if p := Page(r, passages, rng()); !strings.HasPrefix(p.Title, "an author, facing North") || p.Title != strings.TrimSpace(p.Title) {
		t.Errorf("title %q", p.Title)
	}
}

func TestAnswerToAQuestionNamingNobody(t *testing.T) {
	ps := []actor.Passage{
		{ID: "a1", CharacterID: "london-fox", SectionID: 2, PageNumber: 41, Text: "The gate remembers every reader who passed under it. It keeps their names in rust."},
		{ID: "a2", CharacterID: "glyph-marrow", SectionID: 3, PageNumber: 90, Text: "Glyph Marrow saw the gate and the gate did remember him."},
		{ID: "a3", CharacterID: "jacklyn-variance", SectionID: 5, PageNumber: 151, Text: "Another gate, another memory, another reader remembering the gate."},
		{ID: "a4", CharacterID: "todd-fishbone", SectionID: 15, PageNumber: 300, Text: "Nothing here at all matches, only fish and bones and synchronicity."},
		{ID: "p382", CharacterID: "princhetta", SectionID: 8, PageNumber: 382, Text: "Because, like a brain, I have thought all of these thoughts before."},
	}
	p := Page(ask("What does the gate remember?"), ps, rng())
	for _, want := range []string{`You asked: "What does the gate remember?"`, "The gate remembers every reader", "I have thought all of these thoughts before"} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("answer lacks %q:\n%s", want, p.Text)
		}
	}
	if strings.Contains(p.Text, "fish and bones") {
		t.Errorf("answer quotes a passage unrelated to the question and its character:\n%s", p.Text)
	}
	if p.Sources[0].PassageID != "a1" {
		t.Errorf("sources %+v: the best-matching passage should come first", p.Sources)
	}
}
