package analysis

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gibsey/gibsey/sdk/actor"
)

func TestAnalysisCitesParentAndCorpus(t *testing.T) {
	req := &actor.Request{CharacterID: "princhetta", SectionID: 8, Orientation: "S", ParentPageID: "g-1",
		ParentText: "The pathways carve pathways. Princhetta thinks herself alive, and the pathways agree."}
	ps := []actor.Passage{{ID: "p382", PageNumber: 382, CharacterID: "princhetta", SectionID: 8, Text: "So many times that I have begun to carve pathways for myself."}}
	p := Page(req, ps, rand.New(rand.NewPCG(3, 4)))
	for _, want := range []string{"The pathways carve pathways.", "page 382", "I have begun to carve pathways for myself.", "pathways"} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("analysis lacks %q:\n%s", want, p.Text)
		}
	}
	if len(p.Sources) != 2 || p.Sources[0].Generated != "g-1" || p.Sources[1].PageNumber != 382 {
		t.Errorf("sources = %+v", p.Sources)
	}
	if !strings.HasPrefix(p.Title, "Analysis: pathways") {
		t.Errorf("title = %q", p.Title)
	}
	if q := Query(req.ParentText); !strings.Contains(q, "pathways") {
		t.Errorf("Query = %q", q)
	}
}
