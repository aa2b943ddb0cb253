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
	if got := Name("cop-e-right"); got != "Cop e Right" {
		t.Errorf("Name(cop-e-right) = %q", got)
	}
	if got := Name("london-fox"); got != "London Fox" {
		t.Errorf("Name(london-fox) = %q", got)
	}
	if got := Clip("one two three four", 9); got != "one two…" {
		t.Errorf("Clip = %q", got)
	}
}
