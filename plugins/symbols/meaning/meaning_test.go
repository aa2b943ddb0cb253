package meaning

import (
	"strings"
	"testing"

	"github.com/gibsey/gibsey/sdk/actor"
)

func TestMeaningDependsOnOrientationAndPassages(t *testing.T) {
	ps := []actor.Passage{{Text: "The pathways carve pathways; the mirror holds the mirror."}}
	seen := map[string]bool{}
	for _, o := range []string{"N", "E", "S", "W"} {
		m := Of(&actor.Request{CharacterID: "princhetta", SymbolID: "princhetta", Orientation: o}, ps)
		if !strings.HasPrefix(m, "Princhetta facing ") || !strings.Contains(m, "pathways") {
			t.Errorf("%s: meaning %q", o, m)
		}
		if seen[m] {
			t.Errorf("%s: same meaning as another orientation: %q", o, m)
		}
		seen[m] = true
	}
	if m := Of(&actor.Request{CharacterID: "london-fox", Orientation: "W"}, nil); !strings.Contains(m, "remembering") {
		t.Errorf("no passages: %q", m)
	}
}

func TestMeaningNamesTheCharacterNotTheSymbolID(t *testing.T) {
	m := Of(&actor.Request{CharacterID: "cop-e-right", SymbolID: "S9 CR", Orientation: "E"}, nil)
	if !strings.HasPrefix(m, "Cop-E-Right facing East — ") || strings.Contains(m, "S9") {
		t.Fatalf("meaning %q", m)
	}
}
