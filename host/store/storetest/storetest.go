// Package storetest is the conformance suite of store.Store: every backend (embedded and
// Cassandra) runs it from its own tests, so that the two behave the same and cannot drift.
//
// The suite uses fresh random session, page, character and passage ids in every run, so
// it can share one Cassandra keyspace with other tests and with earlier runs.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
)

// Dims is the number of dimensions of the embeddings the suite writes. A Cassandra
// keyspace the suite runs on must have been migrated with this many.
const Dims = 8

// Run runs the conformance suite. open returns the store under test; it is called once
// per subtest and must arrange for its cleanup (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"AppendKeepsOrderByTSThenEventID", testAppendOrder},
		{"ReappendSameEventIDIsIgnored", testReappend},
		{"EventsAfterCursor", testEventsAfter},
		{"ConcurrentAppendsOfOneEventLeaveOneRow", testConcurrentAppend},
		{"AppendRejectsMissingFields", testAppendInvalid},
		{"Pages", testPages},
		{"Vault", testVault},
		{"Snapshots", testSnapshots},
		{"ActorState", testActorState},
		{"Meta", testMeta},
		{"PassagesSearch", testPassages},
		{"PassagesReject", testPassagesInvalid},
		{"Ping", func(t *testing.T, s store.Store) {
			if err := s.Ping(ctx(t)); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// baseTime is a fixed instant with sub-microsecond digits, in a non-UTC zone, so that
// the suite checks truncation and the UTC conversion.
var baseTime = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("X", 5*3600+1800))

func mkEvent(session string, ts time.Time, typ string) store.StoredEvent {
	id := event.NewID()
	return store.StoredEvent{
		SessionID: session, TS: ts, EventID: id, Type: typ,
		Payload: []byte(fmt.Sprintf(`{"n":%q}`, id[:8])),
		Headers: map[string]string{event.HeaderType: typ, event.HeaderCharacter: "london-fox"},
	}
}

// want returns how the store gives back ev: ts truncated to µs in UTC.
func want(ev store.StoredEvent) store.StoredEvent {
	ev.TS = ev.TS.UTC().Truncate(store.EventTimeResolution)
	return ev
}

func sameEvent(t *testing.T, what string, got, exp store.StoredEvent) {
	t.Helper()
	if got.SessionID != exp.SessionID || got.EventID != exp.EventID || got.Type != exp.Type {
		t.Fatalf("%s: got event %s/%s type %q, want %s/%s type %q", what, got.SessionID, got.EventID, got.Type, exp.SessionID, exp.EventID, exp.Type)
	}
	if !got.TS.Equal(exp.TS) || got.TS.Location() != time.UTC {
		t.Fatalf("%s: event %s ts %v, want %v (UTC)", what, got.EventID, got.TS, exp.TS)
	}
	if !bytes.Equal(got.Payload, exp.Payload) {
		t.Fatalf("%s: event %s payload %s, want %s", what, got.EventID, got.Payload, exp.Payload)
	}
	if len(got.Headers) != len(exp.Headers) || (len(exp.Headers) > 0 && !reflect.DeepEqual(got.Headers, exp.Headers)) {
		t.Fatalf("%s: event %s headers %v, want %v", what, got.EventID, got.Headers, exp.Headers)
	}
}

func sortEvents(evs []store.StoredEvent) {
	sort.Slice(evs, func(i, j int) bool {
		if !evs[i].TS.Equal(evs[j].TS) {
			return evs[i].TS.Before(evs[j].TS)
		}
		return evs[i].EventID < evs[j].EventID
	})
}

func appendAll(t *testing.T, s store.Store, evs ...store.StoredEvent) {
	t.Helper()
	for _, ev := range evs {
		ok, err := s.AppendEvent(ctx(t), ev)
		if err != nil {
			t.Fatalf("AppendEvent %s: %v", ev.EventID, err)
		}
		if !ok {
			t.Fatalf("AppendEvent %s of a new event reported appended=false", ev.EventID)
		}
	}
}

func events(t *testing.T, s store.Store, session, after string) []store.StoredEvent {
	t.Helper()
	evs, err := s.Events(ctx(t), session, after)
	if err != nil {
		t.Fatalf("Events(%s, after %q): %v", session, after, err)
	}
	return evs
}

func testAppendOrder(t *testing.T, s store.Store) {
	sid := event.NewID()
	// Appended out of order; two share a ts (ordered by event_id), two differ by 1 µs.
	in := []store.StoredEvent{
		mkEvent(sid, baseTime.Add(2*time.Second), event.TypePageDone),
		mkEvent(sid, baseTime, event.TypeSymbol),
		mkEvent(sid, baseTime.Add(time.Second), event.TypePageRequest),
		mkEvent(sid, baseTime, event.TypeOrientation),
		mkEvent(sid, baseTime.Add(time.Second+time.Microsecond), event.TypeAudit),
	}
	in[4].Headers = nil
	appendAll(t, s, in...)
	exp := make([]store.StoredEvent, len(in))
	for i := range in {
		exp[i] = want(in[i])
	}
	sortEvents(exp)
	got := events(t, s, sid, "")
	if len(got) != len(exp) {
		t.Fatalf("Events returned %d events, want %d", len(got), len(exp))
	}
	for i := range exp {
		sameEvent(t, fmt.Sprintf("event #%d", i), got[i], exp[i])
	}
	// Another session sees none of them.
	if other := events(t, s, event.NewID(), ""); len(other) != 0 {
		t.Fatalf("a fresh session has %d events, want 0", len(other))
	}
}

func testReappend(t *testing.T, s store.Store) {
	sid := event.NewID()
	first := mkEvent(sid, baseTime, event.TypeSymbol)
	appendAll(t, s, first)

	again := first
	again.TS = baseTime.Add(time.Hour)
	again.Payload = []byte(`{"changed":true}`)
	ok, err := s.AppendEvent(ctx(t), again)
	if err != nil {
		t.Fatalf("re-append: %v", err)
	}
	if ok {
		t.Fatalf("re-append of event %s (same event_id, other ts) reported appended=true", first.EventID)
	}
	ok, err = s.AppendEvent(ctx(t), first)
	if err != nil || ok {
		t.Fatalf("identical re-append: appended=%v err=%v, want false, nil", ok, err)
	}
	got := events(t, s, sid, "")
	if len(got) != 1 {
		t.Fatalf("after re-appends the log holds %d rows, want 1", len(got))
	}
	sameEvent(t, "the first write", got[0], want(first))

	if has, err := s.HasEvent(ctx(t), sid, first.EventID); err != nil || !has {
		t.Fatalf("HasEvent(appended) = %v, %v; want true", has, err)
	}
	if has, err := s.HasEvent(ctx(t), sid, event.NewID()); err != nil || has {
		t.Fatalf("HasEvent(unknown id) = %v, %v; want false", has, err)
	}
	// Idempotency is per (session_id, event_id): another session may hold the same id.
	other := first
	other.SessionID = event.NewID()
	if has, err := s.HasEvent(ctx(t), other.SessionID, first.EventID); err != nil || has {
		t.Fatalf("HasEvent in another session = %v, %v; want false", has, err)
	}
	appendAll(t, s, other)
	if n := len(events(t, s, other.SessionID, "")); n != 1 {
		t.Fatalf("other session holds %d events, want 1", n)
	}
}

func testEventsAfter(t *testing.T, s store.Store) {
	sid := event.NewID()
	var in []store.StoredEvent
	for i := 0; i < 5; i++ {
		in = append(in, mkEvent(sid, baseTime.Add(time.Duration(i)*time.Millisecond), event.TypeSymbol))
	}
	appendAll(t, s, in...)
	after := events(t, s, sid, in[1].EventID)
	if len(after) != 3 {
		t.Fatalf("Events after #1 returned %d events, want 3", len(after))
	}
	for i, ev := range after {
		sameEvent(t, fmt.Sprintf("after #1, event #%d", i), ev, want(in[i+2]))
	}
	if rest := events(t, s, sid, in[4].EventID); len(rest) != 0 {
		t.Fatalf("Events after the last event returned %d events, want 0", len(rest))
	}
	_, err := s.Events(ctx(t), sid, event.NewID())
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Events after an unknown event: err = %v, want ErrNotFound", err)
	}
}

func testConcurrentAppend(t *testing.T, s store.Store) {
	sid := event.NewID()
	ev := mkEvent(sid, baseTime, event.TypeSymbol)
	const n = 8
	var wg sync.WaitGroup
	results := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			e := ev
			e.TS = baseTime.Add(time.Duration(i) * time.Millisecond) // same event, other clocks
			<-start
			results[i], errs[i] = s.AppendEvent(context.Background(), e)
		}(i)
	}
	close(start)
	wg.Wait()
	appended := 0
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: AppendEvent: %v", i, errs[i])
		}
		if results[i] {
			appended++
		}
	}
	if appended != 1 {
		t.Fatalf("%d of %d concurrent appends of one event reported appended=true, want exactly 1", appended, n)
	}
	got := events(t, s, sid, "")
	if len(got) != 1 {
		t.Fatalf("concurrent appends left %d rows, want 1", len(got))
	}
	d := got[0].TS.Sub(baseTime.Truncate(store.EventTimeResolution))
	if got[0].EventID != ev.EventID || d < 0 || d >= n*time.Millisecond {
		t.Fatalf("the row is %s at %v, want %s at one of the appended times", got[0].EventID, got[0].TS, ev.EventID)
	}
}

func testAppendInvalid(t *testing.T, s store.Store) {
	good := mkEvent(event.NewID(), baseTime, event.TypeSymbol)
	cases := map[string]func(*store.StoredEvent){
		"session_id": func(e *store.StoredEvent) { e.SessionID = "" },
		"event_id":   func(e *store.StoredEvent) { e.EventID = "" },
		"ts":         func(e *store.StoredEvent) { e.TS = time.Time{} },
		"type":       func(e *store.StoredEvent) { e.Type = "" },
	}
	for field, mutate := range cases {
		e := good
		mutate(&e)
		_, err := s.AppendEvent(ctx(t), e)
		var fe *event.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Fatalf("append without %s: err = %v, want a field error naming %s", field, err, field)
		}
	}
	if n := len(events(t, s, good.SessionID, "")); n != 0 {
		t.Fatalf("rejected appends left %d rows", n)
	}
}

func testPages(t *testing.T, s store.Store) {
	char := "char-" + event.NewID()[:8]
	sid := event.NewID()
	var in []store.Page
	for i, off := range []int{1, 0, 2} { // created out of order
		in = append(in, store.Page{
			PageID: event.NewID(), CharacterID: char, SectionID: 8, SessionID: sid,
			Title: fmt.Sprintf("Page %d", i), Excerpt: "An excerpt.", EmbeddingsRef: "psg:" + char,
			Created: baseTime.Add(time.Duration(off) * time.Second), Text: fmt.Sprintf("The full text of page %d.", i),
		})
	}
	for _, p := range in {
		if err := s.PutPage(ctx(t), p); err != nil {
			t.Fatalf("PutPage: %v", err)
		}
	}
	// Upsert: the same page again, retitled.
	in[0].Title = "Retitled"
	if err := s.PutPage(ctx(t), in[0]); err != nil {
		t.Fatalf("PutPage (upsert): %v", err)
	}
	got, err := s.Page(ctx(t), in[0].PageID)
	if err != nil {
		t.Fatalf("Page: %v", err)
	}
	exp := in[0]
	exp.Created = exp.Created.UTC().Truncate(store.TimeResolution)
	if !got.Created.Equal(exp.Created) || got.Created.Location() != time.UTC {
		t.Fatalf("Page created %v, want %v UTC", got.Created, exp.Created)
	}
	got.Created = exp.Created
	if got != exp {
		t.Fatalf("Page returned %+v, want %+v", got, exp)
	}
	if _, err := s.Page(ctx(t), event.NewID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Page(unknown): err = %v, want ErrNotFound", err)
	}

	cell, err := s.PagesByCell(ctx(t), char, 8, 10)
	if err != nil {
		t.Fatalf("PagesByCell: %v", err)
	}
	order := []string{in[2].PageID, in[0].PageID, in[1].PageID} // newest first
	if len(cell) != 3 {
		t.Fatalf("PagesByCell returned %d pages, want 3 (an upsert must not add a row)", len(cell))
	}
	for i, p := range cell {
		if p.PageID != order[i] {
			t.Fatalf("PagesByCell #%d is %s, want %s (newest first)", i, p.PageID, order[i])
		}
		if p.CharacterID != char || p.SectionID != 8 || p.SessionID != sid || p.Excerpt != "An excerpt." || p.EmbeddingsRef != "psg:"+char || p.Text != "" {
			t.Fatalf("PagesByCell row %+v does not hold the page's index fields (and no text)", p)
		}
	}
	if cell[1].Title != "Retitled" {
		t.Fatalf("PagesByCell shows title %q after the upsert, want Retitled", cell[1].Title)
	}
	two, err := s.PagesByCell(ctx(t), char, 8, 2)
	if err != nil || len(two) != 2 || two[0].PageID != order[0] || two[1].PageID != order[1] {
		t.Fatalf("PagesByCell limit 2 = %d pages, %v; want the two newest", len(two), err)
	}
	if other, err := s.PagesByCell(ctx(t), char, 9, 10); err != nil || len(other) != 0 {
		t.Fatalf("PagesByCell of an empty cell = %d pages, %v", len(other), err)
	}

	// A page rewritten into another cell leaves the old one.
	moved := in[1]
	moved.SectionID = 9
	if err := s.PutPage(ctx(t), moved); err != nil {
		t.Fatalf("PutPage (move): %v", err)
	}
	if c8, _ := s.PagesByCell(ctx(t), char, 8, 10); len(c8) != 2 {
		t.Fatalf("after moving a page out, cell 8 holds %d pages, want 2", len(c8))
	}
	if c9, _ := s.PagesByCell(ctx(t), char, 9, 10); len(c9) != 1 || c9[0].PageID != moved.PageID {
		t.Fatalf("after moving a page in, cell 9 holds %v", c9)
	}
}

func testVault(t *testing.T, s store.Store) {
	sid := event.NewID()
	pages := []string{event.NewID(), event.NewID(), event.NewID()}
	saves := []store.VaultEntry{
		{SessionID: sid, Saved: baseTime.Add(2 * time.Second), PageID: pages[0], Label: "third", Notes: "n0"},
		{SessionID: sid, Saved: baseTime, PageID: pages[1], Label: "first"},
		{SessionID: sid, Saved: baseTime.Add(time.Second), PageID: pages[2], Label: "second", Notes: "n2"},
	}
	for _, v := range saves {
		if err := s.SaveVault(ctx(t), v); err != nil {
			t.Fatalf("SaveVault: %v", err)
		}
	}
	up := saves[1]
	up.Label = "first, relabelled"
	up.Notes = "a note"
	if err := s.SaveVault(ctx(t), up); err != nil {
		t.Fatalf("SaveVault (upsert): %v", err)
	}
	got, err := s.Vault(ctx(t), sid)
	if err != nil {
		t.Fatalf("Vault: %v", err)
	}
	exp := []store.VaultEntry{up, saves[2], saves[0]}
	if len(got) != len(exp) {
		t.Fatalf("Vault holds %d rows, want %d (an upsert must not add a row)", len(got), len(exp))
	}
	for i := range exp {
		e := exp[i]
		e.Saved = e.Saved.UTC().Truncate(store.TimeResolution)
		if !got[i].Saved.Equal(e.Saved) || got[i].Saved.Location() != time.UTC {
			t.Fatalf("vault #%d saved %v, want %v UTC", i, got[i].Saved, e.Saved)
		}
		g := got[i]
		g.Saved = e.Saved
		if g != e {
			t.Fatalf("vault #%d = %+v, want %+v", i, got[i], e)
		}
	}
	if none, err := s.Vault(ctx(t), event.NewID()); err != nil || len(none) != 0 {
		t.Fatalf("Vault of a fresh session = %d rows, %v", len(none), err)
	}
}

func testSnapshots(t *testing.T, s store.Store) {
	sid := event.NewID()
	if _, err := s.LatestSnapshot(ctx(t), sid); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LatestSnapshot of a fresh session: err = %v, want ErrNotFound", err)
	}
	var snaps []store.Snapshot
	for _, off := range []int{1, 3, 2} {
		snaps = append(snaps, store.Snapshot{
			SessionID: sid, TS: baseTime.Add(time.Duration(off) * time.Minute),
			UIState:     []byte(fmt.Sprintf(`{"n":%d}`, off)),
			LastEventTS: baseTime.Add(time.Duration(off) * time.Second), Cursor: event.NewID(),
		})
	}
	for _, sn := range snaps {
		if err := s.PutSnapshot(ctx(t), sn); err != nil {
			t.Fatalf("PutSnapshot: %v", err)
		}
	}
	got, err := s.LatestSnapshot(ctx(t), sid)
	if err != nil {
		t.Fatalf("LatestSnapshot: %v", err)
	}
	exp := snaps[1]
	if got.SessionID != sid || !got.TS.Equal(exp.TS.Truncate(store.TimeResolution)) || got.TS.Location() != time.UTC ||
		!bytes.Equal(got.UIState, exp.UIState) || !got.LastEventTS.Equal(exp.LastEventTS.Truncate(store.TimeResolution)) || got.Cursor != exp.Cursor {
		t.Fatalf("LatestSnapshot = %+v (ui %s), want %+v (ui %s)", got, got.UIState, exp, exp.UIState)
	}
}

func testActorState(t *testing.T, s store.Store) {
	sid := event.NewID()
	actor := "symbols-" + event.NewID()[:8]
	if _, err := s.GetActorState(ctx(t), actor, sid, "mood"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetActorState(absent): err = %v, want ErrNotFound", err)
	}
	for _, v := range []string{"calm", "stormy"} {
		if err := s.PutActorState(ctx(t), actor, sid, "mood", []byte(v)); err != nil {
			t.Fatalf("PutActorState: %v", err)
		}
		got, err := s.GetActorState(ctx(t), actor, sid, "mood")
		if err != nil || string(got) != v {
			t.Fatalf("GetActorState = %q, %v; want %q", got, err, v)
		}
	}
	if _, err := s.GetActorState(ctx(t), actor, event.NewID(), "mood"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("actor state leaked into another session: err = %v", err)
	}
	if _, err := s.GetActorState(ctx(t), actor+"x", sid, "mood"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("actor state leaked into another actor: err = %v", err)
	}
	if err := s.PutActorState(ctx(t), "", sid, "k", nil); err == nil {
		t.Fatal("PutActorState with no actor succeeded")
	}
}

func testMeta(t *testing.T, s store.Store) {
	k := "corpus-fingerprint-" + event.NewID()[:8]
	if _, err := s.GetMeta(ctx(t), k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetMeta(absent): err = %v, want ErrNotFound", err)
	}
	for _, v := range []string{"abc", "def"} {
		if err := s.PutMeta(ctx(t), k, v); err != nil {
			t.Fatalf("PutMeta: %v", err)
		}
		if got, err := s.GetMeta(ctx(t), k); err != nil || got != v {
			t.Fatalf("GetMeta = %q, %v; want %q", got, err, v)
		}
	}
}

// unit returns a deterministic pseudo-random unit vector.
func unit(r *rand.Rand) []float32 {
	v := make([]float32, Dims)
	var n float64
	for i := range v {
		v[i] = float32(r.NormFloat64())
		n += float64(v[i]) * float64(v[i])
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

// mix returns a*x + b*y.
func mix(a float32, x []float32, b float32, y []float32) []float32 {
	v := make([]float32, len(x))
	for i := range v {
		v[i] = a*x[i] + b*y[i]
	}
	return v
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-3 }

func testPassages(t *testing.T, s store.Store) {
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	q := unit(r) // the query
	// other is a unit vector orthogonal to q, so that cos(q, q + b*other) = 1/sqrt(1+b²)
	// falls strictly as b grows: the expected order below never depends on the draw.
	other := unit(r)
	dot := store.Cosine(q, other)
	other = mix(1, other, -dot, q)
	var n float64
	for _, x := range other {
		n += float64(x) * float64(x)
	}
	for i := range other {
		other[i] /= float32(math.Sqrt(n))
	}
	charA, charB := "a-"+event.NewID()[:8], "b-"+event.NewID()[:8]
	id := func(name string) string { return name + "-" + event.NewID()[:8] }
	ps := []store.Passage{
		{ID: id("exact"), CharacterID: charA, SectionID: 1, PageNumber: 11, Text: "The exact one.", Embedding: q},
		{ID: id("close"), CharacterID: charA, SectionID: 1, PageNumber: 12, Text: "A close one.", Embedding: mix(1, q, 0.3, other)},
		{ID: id("far"), CharacterID: charA, SectionID: 1, PageNumber: 13, Text: "A far one.", Embedding: mix(0.2, q, 1, other)},
		{ID: id("a2"), CharacterID: charA, SectionID: 2, PageNumber: 21, Text: "Section two.", Embedding: mix(1, q, 0.1, other)},
		{ID: id("b1"), CharacterID: charB, SectionID: 1, PageNumber: 31, Text: "Another character.", Embedding: mix(1, q, 0.05, other)},
	}
	before, err := s.PassageCount(ctx(t))
	if err != nil {
		t.Fatalf("PassageCount: %v", err)
	}
	if err := s.PutPassages(ctx(t), ps); err != nil {
		t.Fatalf("PutPassages: %v", err)
	}
	if err := s.PutPassages(ctx(t), ps[:2]); err != nil { // an upsert adds nothing
		t.Fatalf("PutPassages (again): %v", err)
	}
	after, err := s.PassageCount(ctx(t))
	if err != nil {
		t.Fatalf("PassageCount: %v", err)
	}
	if after-before != len(ps) {
		t.Fatalf("PassageCount went from %d to %d after putting %d new passages (twice for two)", before, after, len(ps))
	}
	byID := map[string]store.Passage{}
	for _, p := range ps {
		byID[p.ID] = p
	}
	search := func(f store.PassageFilter, k int) []store.Passage {
		t.Helper()
		got, err := s.SearchPassages(ctx(t), q, f, k)
		if err != nil {
			t.Fatalf("SearchPassages(%+v, k=%d): %v", f, k, err)
		}
		if len(got) > k {
			t.Fatalf("SearchPassages(%+v, k=%d) returned %d passages", f, k, len(got))
		}
		for i, p := range got {
			if f.CharacterID != "" && p.CharacterID != f.CharacterID || f.SectionID != 0 && p.SectionID != f.SectionID {
				t.Fatalf("SearchPassages(%+v) returned %s of %s/%d, outside the filter", f, p.ID, p.CharacterID, p.SectionID)
			}
			if i > 0 && p.Score > got[i-1].Score+1e-4 {
				t.Fatalf("SearchPassages(%+v): scores not best first: %v then %v", f, got[i-1].Score, p.Score)
			}
			if mine, ok := byID[p.ID]; ok {
				if want := store.Cosine(q, mine.Embedding); !near(p.Score, want) {
					t.Fatalf("passage %s scored %v, want cosine %v", p.ID, p.Score, want)
				}
				if p.Text != mine.Text || p.PageNumber != mine.PageNumber || p.CharacterID != mine.CharacterID || p.SectionID != mine.SectionID {
					t.Fatalf("SearchPassages returned %+v, want the stored fields of %+v", p, mine)
				}
			}
		}
		return got
	}
	ids := func(ps []store.Passage) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}

	cell := search(store.PassageFilter{CharacterID: charA, SectionID: 1}, 2)
	if want := []string{ps[0].ID, ps[1].ID}; !reflect.DeepEqual(ids(cell), want) {
		t.Fatalf("search in cell %s/1 k=2 = %v, want %v", charA, ids(cell), want)
	}
	if !near(cell[0].Score, 1) {
		t.Fatalf("the exact match scored %v, want 1", cell[0].Score)
	}
	all := search(store.PassageFilter{CharacterID: charA, SectionID: 1}, 10)
	if want := []string{ps[0].ID, ps[1].ID, ps[2].ID}; !reflect.DeepEqual(ids(all), want) {
		t.Fatalf("search in cell %s/1 k=10 = %v, want %v", charA, ids(all), want)
	}
	char := search(store.PassageFilter{CharacterID: charA}, 10)
	if want := []string{ps[0].ID, ps[3].ID, ps[1].ID, ps[2].ID}; !reflect.DeepEqual(ids(char), want) {
		t.Fatalf("search for character %s = %v, want %v", charA, ids(char), want)
	}
	sec := search(store.PassageFilter{SectionID: 1}, 1)
	if len(sec) != 1 || sec[0].ID != ps[0].ID {
		t.Fatalf("search in section 1 k=1 = %v, want [%s]", ids(sec), ps[0].ID)
	}
	top := search(store.PassageFilter{}, 3)
	if len(top) == 0 || top[0].ID != ps[0].ID {
		t.Fatalf("unfiltered search = %v, want %s first", ids(top), ps[0].ID)
	}
	if none := search(store.PassageFilter{CharacterID: "nobody-" + event.NewID()[:8]}, 5); len(none) != 0 {
		t.Fatalf("search for an unknown character = %v, want none", ids(none))
	}
}

func testPassagesInvalid(t *testing.T, s store.Store) {
	r := rand.New(rand.NewSource(1))
	good := unit(r)
	if err := s.PutPassages(ctx(t), []store.Passage{{ID: "zero-" + event.NewID()[:8], Text: "x", Embedding: make([]float32, Dims)}}); err == nil {
		t.Fatal("PutPassages accepted the zero vector")
	}
	if err := s.PutPassages(ctx(t), []store.Passage{{ID: "", Text: "x", Embedding: good}}); err == nil {
		t.Fatal("PutPassages accepted a passage without id")
	}
	// Establish the index's dimensions, then try another.
	if err := s.PutPassages(ctx(t), []store.Passage{{ID: "dims-" + event.NewID()[:8], CharacterID: "dims", SectionID: 1, Text: "x", Embedding: good}}); err != nil {
		t.Fatalf("PutPassages: %v", err)
	}
	if err := s.PutPassages(ctx(t), []store.Passage{{ID: "short-" + event.NewID()[:8], Text: "x", Embedding: good[:Dims-1]}}); err == nil {
		t.Fatal("PutPassages accepted an embedding with the wrong number of dimensions")
	}
	if _, err := s.SearchPassages(ctx(t), good[:Dims-1], store.PassageFilter{}, 3); err == nil {
		t.Fatal("SearchPassages accepted a query vector with the wrong number of dimensions")
	}
}
