package session

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/session/memstore"
	"github.com/gibsey/gibsey/host/store"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// timeline builds a session's events with increasing times.
type timeline struct {
	t   *testing.T
	sid string
	n   int
	evs []store.StoredEvent
}

func newTimeline(t *testing.T) *timeline { return &timeline{t: t, sid: event.NewID()} }

func (tl *timeline) add(typ string, payload any) store.StoredEvent {
	tl.t.Helper()
	e, err := event.New(typ, tl.sid, event.ActorUser, payload)
	if err != nil {
		tl.t.Fatal(err)
	}
	e.TS = t0.Add(time.Duration(tl.n) * time.Second)
	tl.n++
	ev := store.FromEnvelope(e, event.HeadersFor(e))
	tl.evs = append(tl.evs, ev)
	return ev
}

func (tl *timeline) page(character string, section int, cause, text string) (store.StoredEvent, string) {
	id := event.NewID()
	ev := tl.add(event.TypePageDone, event.PageDone{
		PageID: id, SessionID: tl.sid, CharacterID: character, SectionID: section, Orientation: "E",
		Title: "Page about " + character, Text: text,
		Provenance: event.PageProvenance{Actor: "pagegen", ActorVersion: "1", ActorHash: "abc", CauseEventID: cause, CorpusPages: []int{381}},
	})
	return ev, id
}

func TestFoldFollowsTheReader(t *testing.T) {
	tl := newTimeline(t)
	click := tl.add(event.TypeSymbol, event.SymbolClick{CharacterID: "princhetta", SectionID: 8, SymbolID: "S8-PR", Orientation: "E"})
	_, p1 := tl.page("princhetta", 8, click.EventID, "first page")
	tl.add(event.TypeOrientation, event.OrientationTurn{Orientation: "W"})
	ask := tl.add(event.TypeAsk, event.Ask{Prompt: "who rides the wheel?", Context: event.AskContext{Symbols: []string{"S8-PR"}}})
	_, p2 := tl.page("princhetta", 8, ask.EventID, "an answer")
	tl.add(event.TypeVault, event.VaultSave{PageID: p1, Label: "keep", Notes: "the first"})
	tl.add("audit", event.Audit{What: "ignored by the reader"})

	st := Fold(nil, tl.evs)
	if st.SessionID != tl.sid || st.CharacterID != "princhetta" || st.SectionID != 8 || st.SymbolID != "S8-PR" {
		t.Fatalf("cell: %+v", st)
	}
	if st.Orientation != "W" {
		t.Fatalf("orientation: got %q, want the last turn W", st.Orientation)
	}
	latest := st.Latest(0)
	if len(latest) != 2 || latest[0].PageID != p2 || latest[1].PageID != p1 {
		t.Fatalf("latest pages newest first: %+v", latest)
	}
	if len(st.Asks) != 1 || st.Asks[0].AnswerPageID != p2 || latest[0].AnswerTo != ask.EventID {
		t.Fatalf("the ask is not linked to its answer: %+v / %+v", st.Asks, latest[0])
	}
	if latest[1].AnswerTo != "" {
		t.Fatalf("a symbol page marked as an answer: %+v", latest[1])
	}
	if len(st.Vault) != 1 || st.Vault[0].PageID != p1 || st.Vault[0].Label != "keep" || st.Vault[0].Title != "Page about princhetta" {
		t.Fatalf("vault: %+v", st.Vault)
	}
	if st.Cursor != tl.evs[len(tl.evs)-1].EventID || st.Events != len(tl.evs) {
		t.Fatalf("cursor %q events %d", st.Cursor, st.Events)
	}
	if pg, ok := st.Answered(click.EventID); !ok || pg.PageID != p1 {
		t.Fatalf("Answered(click) = %v %v", pg.PageID, ok)
	}
}

func TestFoldFromSnapshotEqualsFoldFromScratch(t *testing.T) {
	tl := newTimeline(t)
	for i := 0; i < 30; i++ {
		c := tl.add(event.TypeSymbol, event.SymbolClick{CharacterID: "london-fox", SectionID: 1 + i%16, SymbolID: fmt.Sprintf("S%d-LF", 1+i%16), Orientation: event.Orientations[i%4]})
		if i%3 == 0 {
			tl.add(event.TypeAsk, event.Ask{Prompt: fmt.Sprintf("q%d", i)})
		}
		_, id := tl.page("london-fox", 1+i%16, c.EventID, fmt.Sprintf("text %d", i))
		if i%5 == 0 {
			tl.add(event.TypeVault, event.VaultSave{PageID: id, Label: fmt.Sprint(i)})
		}
	}
	whole := Fold(nil, tl.evs)
	for _, cut := range []int{1, 7, len(tl.evs) / 2, len(tl.evs) - 1} {
		snap, err := Fold(nil, tl.evs[:cut]).Snapshot(t0)
		if err != nil {
			t.Fatal(err)
		}
		// The snapshot goes through JSON, as it does through state_snapshots.
		b, _ := json.Marshal(snap)
		var back store.Snapshot
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		resumed := Fold(&back, tl.evs[cut:])
		if !reflect.DeepEqual(normal(resumed), normal(whole)) {
			t.Fatalf("cut %d: resumed state differs from the state folded from scratch:\n%+v\nvs\n%+v", cut, resumed, whole)
		}
	}
	if len(whole.Pages) != MaxPages || len(whole.Asks) != 10 || whole.Pages[MaxPages-1].Text != "text 29" {
		t.Fatalf("limits: %d pages, %d asks, last %q", len(whole.Pages), len(whole.Asks), whole.Pages[len(whole.Pages)-1].Text)
	}
}

// normal makes times comparable with reflect.DeepEqual after a JSON round trip.
func normal(s State) State {
	b, _ := json.Marshal(s)
	var out State
	_ = json.Unmarshal(b, &out)
	return out
}

func TestFoldDoesNotShowAPageTwice(t *testing.T) {
	tl := newTimeline(t)
	ev, id := tl.page("princhetta", 8, "", "once")
	again := ev
	again.EventID = event.NewID() // a redelivery under another event id
	again.TS = ev.TS.Add(time.Second)
	st := Fold(nil, append(tl.evs, again))
	if len(st.Pages) != 1 || st.Pages[0].PageID != id {
		t.Fatalf("page shown %d times", len(st.Pages))
	}
}

func TestFoldSkipsUnreadablePayloads(t *testing.T) {
	tl := newTimeline(t)
	tl.add(event.TypeSymbol, event.SymbolClick{CharacterID: "princhetta", SectionID: 8, SymbolID: "S8-PR", Orientation: "S"})
	bad := store.StoredEvent{SessionID: tl.sid, EventID: event.NewID(), Type: event.TypeSymbol, TS: t0.Add(time.Hour), Payload: []byte(`{"section_id":"x"`)}
	st := Fold(nil, append(tl.evs, bad))
	if st.CharacterID != "princhetta" || st.Orientation != "S" || st.Cursor != bad.EventID {
		t.Fatalf("state after a bad payload: %+v", st)
	}
	if New("x").Orientation != "N" {
		t.Fatal("a new session's dial should point N")
	}
}

func TestLoadResumesFromSnapshotPlusLaterEvents(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	tl := newTimeline(t)
	tl.add(event.TypeSymbol, event.SymbolClick{CharacterID: "princhetta", SectionID: 8, SymbolID: "S8-PR", Orientation: "E"})
	tl.page("princhetta", 8, "", "before the snapshot")
	for _, ev := range tl.evs {
		if _, err := st.AppendEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	snap, _ := Fold(nil, tl.evs).Snapshot(t0)
	if err := st.PutSnapshot(ctx, snap); err != nil {
		t.Fatal(err)
	}
	n := len(tl.evs)
	tl.add(event.TypeOrientation, event.OrientationTurn{Orientation: "S"})
	tl.page("princhetta", 8, "", "after the snapshot")
	for _, ev := range tl.evs[n:] {
		if _, err := st.AppendEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Load(ctx, st, tl.sid)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normal(got), normal(Fold(nil, tl.evs))) {
		t.Fatalf("Load differs from a fold of the whole log:\n%+v", got)
	}
	if got.Orientation != "S" || len(got.Pages) != 2 || got.Pages[1].Text != "after the snapshot" {
		t.Fatalf("resumed: %+v", got)
	}

	// SnapshotNow writes the state; a later Load starts from it and agrees.
	written, err := SnapshotNow(ctx, st, tl.sid, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	latest, err := st.LatestSnapshot(ctx, tl.sid)
	if err != nil || latest.Cursor != tl.evs[len(tl.evs)-1].EventID || !latest.LastEventTS.Equal(tl.evs[len(tl.evs)-1].TS) {
		t.Fatalf("snapshot row: %+v %v", latest, err)
	}
	if again, _ := Load(ctx, st, tl.sid); !reflect.DeepEqual(normal(again), normal(written)) {
		t.Fatal("Load after SnapshotNow differs")
	}

	// A snapshot that cannot be read is ignored: the whole log is folded instead.
	if err := st.PutSnapshot(ctx, store.Snapshot{SessionID: tl.sid, TS: t0.Add(time.Hour), UIState: []byte("{nope"), Cursor: tl.evs[len(tl.evs)-1].EventID}); err != nil {
		t.Fatal(err)
	}
	got, err = Load(ctx, st, tl.sid)
	if err != nil || len(got.Pages) != 2 {
		t.Fatalf("load past a corrupt snapshot: %v, %d pages", err, len(got.Pages))
	}

	// An unknown session is a fresh state, not an error.
	fresh, err := Load(ctx, st, event.NewID())
	if err != nil || len(fresh.Pages) != 0 || fresh.Orientation != "N" {
		t.Fatalf("fresh: %+v %v", fresh, err)
	}

	st.Err = store.ErrUnavailable
	if _, err := Load(ctx, st, tl.sid); err == nil {
		t.Fatal("Load hid a store error")
	}
}
