package prose

import (
	"reflect"
	"strings"
	"testing"
)

func TestSentencesAreVerbatim(t *testing.T) {
	text := "# Heading\n\nIt has entered this second phase. Because, like a brain, I have thought all of these thoughts before!\nMany times.\n"
	got := Sentences(text, 12)
	want := []string{"It has entered this second phase.", "Because, like a brain, I have thought all of these thoughts before!"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Sentences = %q, want %q", got, want)
	}
	for _, s := range got {
		if !strings.Contains(text, s) {
			t.Errorf("%q is not a substring of the text", s)
		}
	}
}

func TestKeywordsAndNames(t *testing.T) {
	kw := Keywords([]string{"The pathways carve pathways, and pathways carve other pathways of thought.", "thought"}, 2)
	if !reflect.DeepEqual(kw, []string{"pathways", "carve"}) {
		t.Fatalf("Keywords = %q", kw)
	}
	if got := Name("cop-e-right"); got != "Cop-E-Right" {
		t.Errorf("Name(cop-e-right) = %q", got)
	}
	if got := Name("london-fox"); got != "London Fox" {
		t.Errorf("Name(london-fox) = %q", got)
	}
	if got := Clip("one two three four", 9); got != "one two…" {
		t.Errorf("Clip = %q", got)
	}
}

func TestNamesAreTheCorpusNames(t *testing.T) {
	for id, want := range map[string]string{"an-author": "an author", "old-natalie": "Old Natalie Weissman", "some-new-one": "Some New One", " ": "Someone"} {
		if got := Name(id); got != want {
			t.Errorf("Name(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestMentioned(t *testing.T) {
	for q, want := range map[string]string{
		"Who is London Fox?":                 "london-fox",
		"What does Jacklyn Variance watch?":  "jacklyn-variance",
		"what does jacklyn watch":            "jacklyn-variance",
		"Is Cop-E-Right a person?":           "cop-e-right",
		"Tell me about Old Natalie Weissman": "old-natalie",
		"Who is Natalie?":                    "", // two Natalies: no guess
		"What is the mall?":                  "",
	} {
		if got := Mentioned(q); got != want {
			t.Errorf("Mentioned(%q) = %q, want %q", q, got, want)
		}
	}
}
