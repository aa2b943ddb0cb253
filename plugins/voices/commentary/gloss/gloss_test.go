package gloss

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gibsey/gibsey/sdk/actor"
)

func TestCommentaryQuotesParentInOrder(t *testing.T) {
	req := &actor.Request{CharacterID: "london-fox", SectionID: 2, Orientation: "W", ParentPageID: "g-2",
		ParentText: "First the fox climbs. Then the escalator forgets her. Finally the mall closes its eyes. After all that, the reader stays."}
	ps := []actor.Passage{{ID: "p50", PageNumber: 50, CharacterID: "london-fox", SectionID: 2, Text: "The escalator keeps climbing without anyone on it."}}
	p := Page(req, ps, rand.New(rand.NewPCG(5, 6)))
	if strings.Count(p.Text, "“") < 4 || !strings.Contains(p.Text, "page 50: “The escalator keeps climbing without anyone on it.”") {
		t.Fatalf("commentary:\n%s", p.Text)
	}
	// quoted lines keep the parent's order
	last := -1
	for _, l := range []string{"First the fox climbs.", "Then the escalator forgets her.", "Finally the mall closes its eyes.", "After all that, the reader stays."} {
		if i := strings.Index(p.Text, l); i >= 0 {
			if i < last {
				t.Errorf("%q is out of order", l)
			}
			last = i
		}
	}
	if p.Sources[0].Generated != "g-2" || p.Sources[1].PageNumber != 50 {
		t.Errorf("sources = %+v", p.Sources)
	}
	again := Page(req, ps, rand.New(rand.NewPCG(5, 6)))
	if !reflect.DeepEqual(p, again) {
		t.Error("same seed, different commentary")
	}
}
