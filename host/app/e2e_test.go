package app

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/actors"
	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/runner"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/web"
)

// TestSymbolToPageOverSSE: a reader posts a symbol and the page arrives on the session's
// SSE stream, quoting that character's pages, with a provenance naming the actor (its
// content hash) and the corpus pages; the events_log holds the cue, the request and the page
// in order; a reconnect with Last-Event-ID gets what it missed and nothing twice.
func TestSymbolToPageOverSSE(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := startApp(t, be, appOpts{})
		sid := event.NewID()
		stream := ta.openSSE(t, sid, "")
		c := ta.character(t, 7)
		cue := ta.postSymbol(t, sid, c, "E")

		got := stream.waitFor(t, "the page of the cue", pageOf(cue))
		if len(got) != 1 {
			t.Errorf("a new session's stream sent %v before its first page, want only the page", ids(got))
		}
		live := got[len(got)-1]
		if live.Event != "page.done" || !event.ValidUUID(live.ID) {
			t.Fatalf("SSE event %q id %q, want page.done with the event id", live.Event, live.ID)
		}
		pd := ssePage(t, live)
		if pd.SessionID != sid || pd.Orientation != "E" || !event.ValidUUID(pd.PageID) || pd.Title == "" {
			t.Errorf("page.done: session %s orientation %s page_id %q title %q", pd.SessionID, pd.Orientation, pd.PageID, pd.Title)
		}
		ta.checkPageFromCorpus(t, pd, c)

		evs, stored, storedPD := ta.waitPage(t, sid, cue)
		if stored.EventID != live.ID || storedPD.Text != pd.Text || storedPD.PageID != pd.PageID {
			t.Errorf("the stored page.done (%s, page %s) differs from the streamed one (%s, page %s)", stored.EventID, storedPD.PageID, live.ID, pd.PageID)
		}
		checkOrder(t, evs, cue)

		// Reconnect: the reader missed a page while away.
		stream.close()
		cue2 := ta.postSymbol(t, sid, ta.character(t, 2), "W")
		_, missed, _ := ta.waitPage(t, sid, cue2)
		again := ta.openSSE(t, sid, live.ID)
		cue3 := ta.postSymbol(t, sid, c, "S")
		got = again.waitFor(t, "the page of the cue posted after the reconnect", pageOf(cue3))
		if len(got) != 2 || got[0].ID != missed.EventID {
			t.Fatalf("reconnected with Last-Event-ID %s: got %v, want the missed page %s then the new one, each once", live.ID, ids(got), missed.EventID)
		}
	})
}

// checkOrder checks the log is in time order and holds the cue, its page request and its
// page, in that order.
func checkOrder(t *testing.T, evs []web.EventJSON, cue string) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].TS.Before(evs[i-1].TS) {
			t.Errorf("events_log out of order at %d: %s (%s) after %s (%s)", i, evs[i].Type, evs[i].TS, evs[i-1].Type, evs[i-1].TS)
		}
	}
	at := map[string]int{}
	for i, ev := range evs {
		switch ev.Type {
		case event.TypeSymbol:
			if ev.EventID == cue {
				at[ev.Type] = i + 1
				if ev.Headers[event.HeaderSymbol] == "" || ev.Headers[event.HeaderCharacter] == "" {
					t.Errorf("the stored cue lacks its x-* headers: %v", ev.Headers)
				}
			}
		case event.TypePageRequest:
			var req event.PageRequest
			if json.Unmarshal(ev.Payload, &req) == nil && req.CauseEventID == cue {
				at[ev.Type] = i + 1
			}
		case event.TypePageDone:
			var pd event.PageDone
			if json.Unmarshal(ev.Payload, &pd) == nil && pd.Provenance.CauseEventID == cue {
				at[ev.Type] = i + 1
			}
		}
	}
	s, r, d := at[event.TypeSymbol], at[event.TypePageRequest], at[event.TypePageDone]
	if s == 0 || r == 0 || d == 0 || !(s < r && r < d) {
		t.Errorf("events_log positions: ui.symbol %d, generate.page.request %d, generate.page.done %d (1-based; 0 = missing), want all three in that order: %s", s, r, d, summary(evs))
	}
}

// TestRestartKeepsTimeline: stopping and starting the host on the same data dir keeps the
// session's events and pages, and new cues still become pages that know the old ones.
func TestRestartKeepsTimeline(t *testing.T) {
	dir := t.TempDir()
	ta := startApp(t, embeddedBackend, appOpts{DataDir: dir})
	sid := event.NewID()
	c1, c2 := ta.character(t, 0), ta.character(t, 5)
	cue1 := ta.postSymbol(t, sid, c1, "N")
	_, _, p1 := ta.waitPage(t, sid, cue1)
	cue2 := ta.postSymbol(t, sid, c2, "E")
	before, _, p2 := ta.waitPage(t, sid, cue2)
	ta.stop()

	tb := startApp(t, embeddedBackend, appOpts{DataDir: dir})
	after := tb.events(t, sid)
	checkKept(t, before, after)
	for _, p := range []event.PageDone{p1, p2} {
		var got web.PageJSON
		tb.getJSON(t, "/api/pages/"+p.PageID, &got)
		if got.Text != p.Text || got.Title != p.Title {
			t.Errorf("page %s after the restart: %q, want %q", p.PageID, got.Title, p.Title)
		}
	}
	// The stream replays both pages from the store.
	stream := tb.openSSE(t, sid, "")
	p2Stored, _, _ := findPage(after, cue2)
	stream.waitFor(t, "the second page replayed", func(ev sseEvent) bool { return ev.Event == "page.done" && ev.ID == p2Stored.EventID })

	cue3 := tb.postSymbol(t, sid, c1, "W")
	final, _, p3 := tb.waitPage(t, sid, cue3)
	stream.waitFor(t, "the page after the restart", pageOf(cue3))
	checkKept(t, after, final)
	checkOrder(t, final, cue3)
	for _, cue := range []string{cue1, cue2, cue3} {
		if n := countPages(final, cue); n != 1 {
			t.Errorf("cue %s has %d pages after the restart, want 1", cue, n)
		}
	}
	// The new request was enriched with the session's earlier pages, read after the restart.
	var recent []string
	for _, ev := range final {
		var req event.PageRequest
		if ev.Type == event.TypePageRequest && json.Unmarshal(ev.Payload, &req) == nil && req.CauseEventID == cue3 {
			for _, r := range req.RecentPages {
				recent = append(recent, r.PageID)
			}
		}
	}
	if !slices.Contains(recent, p1.PageID) || !slices.Contains(recent, p2.PageID) {
		t.Errorf("the request after the restart names recent pages %v, want %s and %s", recent, p1.PageID, p2.PageID)
	}
	if p3.PageID == p1.PageID || p3.PageID == p2.PageID {
		t.Errorf("the new page reuses an old page id %s", p3.PageID)
	}
}

// checkKept checks every event of before is in after, unchanged and in the same relative
// order, and that after has no event twice.
func checkKept(t *testing.T, before, after []web.EventJSON) {
	t.Helper()
	pos := map[string]int{}
	for i, ev := range after {
		if _, dup := pos[ev.EventID]; dup {
			t.Errorf("event %s (%s) is in the log twice", ev.EventID, ev.Type)
		}
		pos[ev.EventID] = i
	}
	last := -1
	for _, ev := range before {
		i, ok := pos[ev.EventID]
		if !ok {
			t.Errorf("event %s (%s) is gone from the log", ev.EventID, ev.Type)
			continue
		}
		got := after[i]
		if got.Type != ev.Type || !got.TS.Equal(ev.TS) || !bytes.Equal(compact(got.Payload), compact(ev.Payload)) {
			t.Errorf("event %s changed: %s %s %s, was %s %s %s", ev.EventID, got.Type, got.TS, got.Payload, ev.Type, ev.TS, ev.Payload)
		}
		if i < last {
			t.Errorf("event %s (%s) moved in the log", ev.EventID, ev.Type)
		}
		last = i
	}
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}

// TestSameEventTwiceGivesOnePage: the same envelope (same event_id) produced twice to the
// bus yields one page, in events_log and on the stream.
func TestSameEventTwiceGivesOnePage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := startApp(t, be, appOpts{})
		sid := event.NewID()
		stream := ta.openSSE(t, sid, "")
		c := ta.character(t, 3)
		env, err := event.New(event.TypeSymbol, sid, event.ActorUser, event.SymbolClick{CharacterID: c.ID, SectionID: c.Section, SymbolID: c.SymbolID(c.Section), Orientation: "S"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for i := 0; i < 2; i++ {
			if err := ta.Bus.Produce(ctx, env, nil); err != nil {
				t.Fatalf("produce #%d: %v", i+1, err)
			}
		}
		// Sentinels: later cues of the same session travel the same partitions, so when
		// their pages are through, both copies of the event are through every stage.
		s1 := ta.postSymbol(t, sid, c, "N")
		got := stream.waitFor(t, "the first sentinel's page", pageOf(s1))
		s2 := ta.postSymbol(t, sid, c, "E")
		got = append(got, stream.waitFor(t, "the second sentinel's page", pageOf(s2))...)
		n := 0
		for _, ev := range got {
			if pageOf(env.EventID)(ev) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the event produced twice gave %d pages on the stream (%v), want 1", n, ids(got))
		}
		evs, _, _ := ta.waitPage(t, sid, s2)
		if n := countPages(evs, env.EventID); n != 1 {
			t.Errorf("the event produced twice has %d page.done in events_log, want 1: %s", n, summary(evs))
		}
		cues, reqs := 0, 0
		for _, ev := range evs {
			var req event.PageRequest
			switch {
			case ev.EventID == env.EventID:
				cues++
			case ev.Type == event.TypePageRequest && json.Unmarshal(ev.Payload, &req) == nil && req.CauseEventID == env.EventID:
				reqs++
			}
		}
		if cues != 1 || reqs != 1 {
			t.Errorf("events_log holds the cue %d times and its request %d times, want 1 and 1", cues, reqs)
		}
	})
}

// TestRegeneratingFromTheLogIsByteIdentical: the stored page request, run again through the
// actors, gives the stored page byte for byte.
func TestRegeneratingFromTheLogIsByteIdentical(t *testing.T) {
	ta := startApp(t, embeddedBackend, appOpts{})
	sid := event.NewID()
	cue1 := ta.postSymbol(t, sid, ta.character(t, 9), "N")
	ta.waitPage(t, sid, cue1)
	cue2 := ta.postSymbol(t, sid, ta.character(t, 9), "S") // a request with a recent page
	ta.waitPage(t, sid, cue2)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stored, err := ta.Store.Events(ctx, sid, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, cue := range []string{cue1, cue2} {
		reqEnv, req, done := storedRequest(t, stored, cue)
		if i == 1 && len(req.RecentPages) == 0 {
			t.Errorf("the second request carries no recent pages; the regeneration would not cover them")
		}
		// The runner's own path: the actor through the App's generator, then runner.PageDone.
		page, err := actorsGenerator{ta.App}.GeneratePage(ctx, reqEnv, req)
		if err != nil {
			t.Fatalf("regenerate %s: %v", cue, err)
		}
		again, err := runner.PageDone(reqEnv, req, page)
		if err != nil {
			t.Fatal(err)
		}
		if again.EventID != done.EventID || !bytes.Equal(again.Payload, done.Payload) {
			t.Errorf("regenerated page.done differs from the stored one:\n stored %s %s\n again  %s %s", done.EventID, done.Payload, again.EventID, again.Payload)
		}
		// And the actor called directly with the same call.
		res, err := ta.Actors.Generate(withRecent(ctx, req.RecentPages), req.Voice, actors.Call{EventID: reqEnv.EventID, SessionID: sid, TS: reqEnv.TS, Request: req})
		if err != nil {
			t.Fatal(err)
		}
		var pd event.PageDone
		if err := json.Unmarshal(done.Payload, &pd); err != nil {
			t.Fatal(err)
		}
		if res.Text != pd.Text || res.Title != pd.Title {
			t.Errorf("Actors.Generate with the stored call: title %q text %q, want %q %q", res.Title, res.Text, pd.Title, pd.Text)
		}
	}
}

// storedRequest returns the page request of a cue (as the envelope it travelled in) and
// the page.done it gave, from the stored log.
func storedRequest(t *testing.T, evs []store.StoredEvent, cue string) (event.Envelope, event.PageRequest, store.StoredEvent) {
	t.Helper()
	var reqEnv event.Envelope
	var req event.PageRequest
	var done store.StoredEvent
	for _, ev := range evs {
		switch ev.Type {
		case event.TypePageRequest:
			var r event.PageRequest
			if json.Unmarshal(ev.Payload, &r) == nil && r.CauseEventID == cue {
				req = r
				reqEnv = event.Envelope{EventID: ev.EventID, Type: ev.Type, TS: ev.TS, SessionID: ev.SessionID, Actor: event.ActorSystem, Payload: ev.Payload}
			}
		case event.TypePageDone:
			var pd event.PageDone
			if json.Unmarshal(ev.Payload, &pd) == nil && pd.Provenance.CauseEventID == cue {
				done = ev
			}
		}
	}
	if reqEnv.EventID == "" || done.EventID == "" {
		t.Fatalf("no stored request (%q) or page (%q) for cue %s", reqEnv.EventID, done.EventID, cue)
	}
	return reqEnv, req, done
}
