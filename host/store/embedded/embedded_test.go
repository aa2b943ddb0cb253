package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/host/store/embedded"
	"github.com/gibsey/gibsey/host/store/storetest"
)

func open(t *testing.T) store.Store {
	s, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// TestSurvivesReopen writes one of everything, closes the store, opens the directory
// again and finds it all intact.
func TestSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sid := event.NewID()
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 678901000, time.UTC)
	var ids []string
	for i := 0; i < 3; i++ {
		ev := store.StoredEvent{SessionID: sid, TS: t0.Add(time.Duration(i) * time.Second), EventID: event.NewID(), Type: event.TypeSymbol, Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))}
		if ok, err := s.AppendEvent(ctx, ev); err != nil || !ok {
			t.Fatalf("AppendEvent: %v %v", ok, err)
		}
		ids = append(ids, ev.EventID)
	}
	page := store.Page{PageID: event.NewID(), CharacterID: "london-fox", SectionID: 3, SessionID: sid, Title: "T", Excerpt: "E", Created: t0, Text: "Full text."}
	must(t, s.PutPage(ctx, page))
	must(t, s.SaveVault(ctx, store.VaultEntry{SessionID: sid, Saved: t0, PageID: page.PageID, Label: "keep"}))
	must(t, s.PutSnapshot(ctx, store.Snapshot{SessionID: sid, TS: t0, UIState: []byte(`{}`), LastEventTS: t0, Cursor: ids[2]}))
	must(t, s.PutActorState(ctx, "symbols", sid, "k", []byte("v")))
	must(t, s.PutMeta(ctx, "fingerprint", "f1"))
	must(t, s.PutPassages(ctx, []store.Passage{{ID: "p1", CharacterID: "london-fox", SectionID: 3, Text: "A passage.", Embedding: []float32{1, 0, 0}}}))
	must(t, s.Close())
	if _, err := s.Events(ctx, sid, ""); !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("Events after Close: err = %v, want ErrClosed", err)
	}

	s, err = embedded.Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	evs, err := s.Events(ctx, sid, "")
	if err != nil || len(evs) != 3 {
		t.Fatalf("after reopen: %d events, %v; want 3", len(evs), err)
	}
	for i, ev := range evs {
		if ev.EventID != ids[i] || string(ev.Payload) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("after reopen event #%d = %s %s", i, ev.EventID, ev.Payload)
		}
	}
	// Idempotency survives too.
	if ok, err := s.AppendEvent(ctx, store.StoredEvent{SessionID: sid, TS: t0.Add(time.Hour), EventID: ids[0], Type: event.TypeSymbol}); err != nil || ok {
		t.Fatalf("re-append after reopen: appended=%v err=%v", ok, err)
	}
	if p, err := s.Page(ctx, page.PageID); err != nil || p.Text != "Full text." {
		t.Fatalf("after reopen Page = %+v, %v", p, err)
	}
	if cell, err := s.PagesByCell(ctx, "london-fox", 3, 5); err != nil || len(cell) != 1 {
		t.Fatalf("after reopen PagesByCell = %v, %v", cell, err)
	}
	if v, err := s.Vault(ctx, sid); err != nil || len(v) != 1 || v[0].Label != "keep" {
		t.Fatalf("after reopen Vault = %v, %v", v, err)
	}
	if sn, err := s.LatestSnapshot(ctx, sid); err != nil || sn.Cursor != ids[2] {
		t.Fatalf("after reopen LatestSnapshot = %+v, %v", sn, err)
	}
	if v, err := s.GetActorState(ctx, "symbols", sid, "k"); err != nil || string(v) != "v" {
		t.Fatalf("after reopen actor state = %q, %v", v, err)
	}
	if v, err := s.GetMeta(ctx, "fingerprint"); err != nil || v != "f1" {
		t.Fatalf("after reopen meta = %q, %v", v, err)
	}
	if n, err := s.PassageCount(ctx); err != nil || n != 1 {
		t.Fatalf("after reopen PassageCount = %d, %v", n, err)
	}
	hits, err := s.SearchPassages(ctx, []float32{1, 0, 0}, store.PassageFilter{CharacterID: "london-fox"}, 1)
	if err != nil || len(hits) != 1 || hits[0].ID != "p1" || hits[0].Text != "A passage." {
		t.Fatalf("after reopen SearchPassages = %v, %v", hits, err)
	}
}

func TestOpenNeedsADirectory(t *testing.T) {
	if _, err := embedded.Open(""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
