package ledger

import (
	"context"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/session"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/host/store/embedded"
)

func newLedger(t *testing.T, every int) (*Ledger, store.Store) {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fold := func(prev *store.Snapshot, evs []store.StoredEvent) ([]byte, error) {
		s, err := session.Fold(prev, evs).Snapshot(evs[len(evs)-1].TS)
		return s.UIState, err
	}
	return &Ledger{Store: st, Fold: fold, SnapshotEvery: every}, st
}

func mustEnv(t *testing.T, typ, sid string, ts time.Time, p any) event.Envelope {
	e, err := event.New(typ, sid, event.ActorUser, p)
	if err != nil {
		t.Fatal(err)
	}
	e.TS = ts
	return e
}

// A cue stored after a later event that a snapshot already covers is still in the state a
// reader resumes from.
func TestLateEventBehindASnapshotIsResumed(t *testing.T) {
	ctx := context.Background()
	l, st := newLedger(t, 1)
	sid := event.NewID()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	click := mustEnv(t, event.TypeSymbol, sid, t0, event.SymbolClick{CharacterID: "princhetta", SectionID: 8, SymbolID: "S8-PR", Orientation: "N"})
	turn := mustEnv(t, event.TypeOrientation, sid, t0.Add(time.Millisecond), event.OrientationTurn{Orientation: "W"})
	// The later event is stored (and snapshotted) first.
	if err := l.Handle(ctx, turn, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Handle(ctx, click, nil); err != nil {
		t.Fatal(err)
	}
	got, err := session.Load(ctx, st, sid)
	if err != nil {
		t.Fatal(err)
	}
	if got.SymbolID != "S8-PR" || got.Orientation != "W" {
		t.Fatalf("resumed state: symbol %q, orientation %q; want S8-PR facing W", got.SymbolID, got.Orientation)
	}
}

func TestRedeliveryChangesNothing(t *testing.T) {
	ctx := context.Background()
	l, st := newLedger(t, 2)
	sid := event.NewID()
	now := time.Now().UTC().Truncate(time.Microsecond)
	done := mustEnv(t, event.TypePageDone, sid, now, event.PageDone{PageID: event.NewID(), SessionID: sid, CharacterID: "princhetta", SectionID: 8, Orientation: "N", Voice: "page", Title: "T", Text: "some text",
		Provenance: event.PageProvenance{Actor: "pagegen", ActorHash: "abc"}})
	for i := 0; i < 3; i++ {
		if err := l.Handle(ctx, done, nil); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := st.Events(ctx, sid, "")
	if err != nil || len(evs) != 1 {
		t.Fatalf("events after 3 deliveries: %d (%v), want 1", len(evs), err)
	}
	var pd event.PageDone
	p, _ := done.DecodePayload()
	pd = *p.(*event.PageDone)
	pg, err := st.Page(ctx, pd.PageID)
	if err != nil || pg.Title != "T" || pg.Excerpt == "" {
		t.Fatalf("pages_index row: %+v, %v", pg, err)
	}
}

func TestExcerptCutsAtAWordAndKeepsUTF8(t *testing.T) {
	ex := Excerpt("é"+string(make([]byte, 0))+"aaaa bbbb cccc dddd éééé", 12)
	if len(ex) > 12+len("…") {
		t.Fatalf("excerpt too long: %q", ex)
	}
	for _, r := range ex {
		if r == '\uFFFD' {
			t.Fatalf("excerpt broke a character: %q", ex)
		}
	}
}
