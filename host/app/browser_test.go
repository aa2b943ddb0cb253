package app

// The reader's browser scenarios (web/browsertest) in headless Chromium against the REAL
// pipeline: a whole App (bus, store, corpus, the built-in .wasm actors, stream, runner,
// ledger, live gateway, web) on the embedded broker and store, and again on real Kafka and
// Cassandra when GIBSEY_TEST_KAFKA / GIBSEY_TEST_CASSANDRA are set. After each scenario the
// test also checks, in the store, that the real pipeline did what the reader saw: the page
// was written by pagegen from the character's corpus pages, a burst of dial turns made one
// page request (for the last turn), the question's answer cites passages, the Vault row is
// stored, and the session resumes from a real snapshot plus the events after it.
//
// Screenshots of the main states go to $GIBSEY_TEST_ARTIFACTS when it is set.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/session"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/web"
	"github.com/gibsey/gibsey/web/browsertest"
)

// browserDebounce is the dial's debounce window of the browser tests' App. The reader's
// script posts the turns of a spin one after the other (each waits for the previous 202),
// so the server-side gap between two turns is a produce acknowledgement plus a browser
// round trip. On a small shared machine running Chromium and, on the real backend, the
// Kafka and Cassandra JVMs, that gap has been seen to exceed the default 400 ms, and then
// a turn that the reader meant to skip gets its own page. The scenario checks the
// behaviour (one page per quick spin, for the last turn), not the tuned window, so the
// window is made wide enough that no scheduling hiccup can split the burst.
const browserDebounce = 2 * time.Second

// browserSnapshotEvery makes the ledger take a snapshot every 3 events, so that reloading
// the reader really resumes from a snapshot plus the events after it.
const browserSnapshotEvery = 3

// TestBrowserScenariosRealPipeline runs every reader scenario of web/browsertest in
// headless Chromium against a real App, and checks in the store what each one did.
func TestBrowserScenariosRealPipeline(t *testing.T) {
	if err := browsertest.Available(); err != nil {
		t.Skip("browser tests skipped: no Chromium (install Debian's `chromium` or set GIBSEY_CHROMIUM)")
	}
	if testing.Short() {
		t.Skip("browser tests skipped in -short mode")
	}
	forEachBackend(t, func(t *testing.T, be backend) {
		start := time.Now()
		ta, rec := startBrowserApp(t, be)
		t.Logf("app on %s ready in %s", be.name, time.Since(start).Round(time.Millisecond))
		checks := map[string]func(t *testing.T, ta *testApp, sid string){
			"ClickSymbolSeesPage":        checkSymbolPage(8),
			"TurnDialQuicklySeesOnePage": checkDialBurst,
			"AskSeesAnswer":              checkAnswer(browsertest.AskPrompt),
			"SaveToVaultSeesTimeline":    checkVault("kept for later", "the ride at night"),
			"ReloadRestoresSession": func(t *testing.T, ta *testApp, sid string) {
				checkResumesFromSnapshot(t, ta, sid, rec.snapshotsOf)
			},
			"NoJSFlow":              checkNoJSFlow,
			"KeyboardChoosesSymbol": checkSymbolPage(0),
		}
		for _, s := range browsertest.All {
			before := rec.sessions()
			began := time.Now()
			if !t.Run(s.Name, func(t *testing.T) { s.Run(t, ta.URL) }) {
				continue
			}
			check := checks[s.Name]
			if check == nil {
				continue
			}
			t.Run(s.Name+"_InStore", func(t *testing.T) {
				sid := rec.waitNewSession(t, before)
				check(t, ta, sid)
			})
			t.Logf("%s on %s: %s (with the store checks)", s.Name, be.name, time.Since(began).Round(time.Millisecond))
		}
		t.Run("MarkupInAskThroughPipeline", func(t *testing.T) { markupInAsk(t, ta) })
	})
}

// ---- the App ----

// sessionRecorder wraps the App's store and remembers the sessions it appends events for,
// in order, and the snapshots it writes: a scenario runs in its own browser (so its own
// session), and the new session after a scenario is that scenario's.
type sessionRecorder struct {
	store.Store
	mu        sync.Mutex
	order     []string
	seen      map[string]bool
	snapshots map[string]int
}

func (r *sessionRecorder) AppendEvent(ctx context.Context, ev store.StoredEvent) (bool, error) {
	ok, err := r.Store.AppendEvent(ctx, ev)
	if err == nil {
		r.mu.Lock()
		if !r.seen[ev.SessionID] {
			r.seen[ev.SessionID] = true
			r.order = append(r.order, ev.SessionID)
		}
		r.mu.Unlock()
	}
	return ok, err
}

func (r *sessionRecorder) PutSnapshot(ctx context.Context, s store.Snapshot) error {
	err := r.Store.PutSnapshot(ctx, s)
	if err == nil {
		r.mu.Lock()
		r.snapshots[s.SessionID]++
		r.mu.Unlock()
	}
	return err
}

func (r *sessionRecorder) sessions() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]bool, len(r.seen))
	for s := range r.seen {
		out[s] = true
	}
	return out
}

func (r *sessionRecorder) snapshotsOf(sid string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshots[sid]
}

// waitNewSession returns the one session that got events since before (the ledger may
// still be storing the scenario's first events).
func (r *sessionRecorder) waitNewSession(t *testing.T, before map[string]bool) string {
	t.Helper()
	deadline := time.Now().Add(pageDeadline)
	for {
		r.mu.Lock()
		var fresh []string
		for _, s := range r.order {
			if !before[s] {
				fresh = append(fresh, s)
			}
		}
		r.mu.Unlock()
		if len(fresh) > 1 {
			t.Fatalf("the scenario's browser made %d sessions (%v), want 1", len(fresh), fresh)
		}
		if len(fresh) == 1 {
			return fresh[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event of the scenario's session reached the store within %s", pageDeadline)
		}
		time.Sleep(pollEvery)
	}
}

// fakeLLM is an OpenAI-compatible chat endpoint standing in for a model: it answers the
// reader's questions only (pagegen composes every other page offline when the generator
// fails), with a page that quotes the passages it was given, echoes the question verbatim (markup
// and all) and adds markup of its own, as an untrusted model might.
func fakeLLM(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Role, Content string } `json:"messages"`
		}
		raw, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/chat/completions" || json.Unmarshal(raw, &req) != nil || len(req.Messages) == 0 {
			http.Error(w, `{"error":{"message":"bad request to the test model"}}`, http.StatusBadRequest)
			return
		}
		user := req.Messages[len(req.Messages)-1].Content
		_, question, ok := strings.Cut(user, "The reader asks: ")
		if !ok {
			http.Error(w, `{"error":{"message":"the test model only answers questions"}}`, http.StatusServiceUnavailable)
			return
		}
		passages, _, _ := strings.Cut(user, "Request: ")
		passages = strings.TrimSpace(strings.TrimPrefix(passages, "Passages:"))
		text := "You asked: " + strings.TrimSpace(question) + "\n\n" + passages + "\n\n" + modelMarkup
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{
			"message": map[string]string{"role": "assistant", "content": text}, "finish_reason": "stop",
		}}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// modelMarkup is what the fake model adds to each answer: markup that must stay text.
const modelMarkup = `<img src=x onerror="window.__gibseyPwned=3"><script>window.__gibseyPwned=4</script><a href="javascript:window.__gibseyPwned=5">click</a>`

// startBrowserApp starts an App as startApp does (same data dir, plugins, keyspace, group
// prefix and warm-up), with the browser tests' debounce and snapshot interval, a
// sessionRecorder around its store, and the fake model as its text generator.
//
// It repeats startApp's set-up because appOpts has no way to change Config fields; a
// Configure func(*Config) in appOpts would let this be startApp(t, be, opts).
func startBrowserApp(t *testing.T, be backend) (*testApp, *sessionRecorder) {
	t.Helper()
	rec := &sessionRecorder{seen: map[string]bool{}, snapshots: map[string]int{}}
	model := fakeLLM(t)
	ta := startApp(t, be, appOpts{
		WrapStore: func(s store.Store) store.Store {
			rec.Store = s
			return rec
		},
		Configure: func(c *Config) {
			c.Debounce = browserDebounce
			c.SnapshotEvery = browserSnapshotEvery
			c.GenerateURL = model.URL + "/v1"
			c.GenerateModel = "gibsey-test-echo"
		},
	})
	return ta, rec
}

// ---- what each scenario left in the store ----

// cues returns the session's events of a type, in log order, with their payloads.
func cues[P any](t *testing.T, evs []web.EventJSON, typ string) ([]web.EventJSON, []P) {
	t.Helper()
	var out []web.EventJSON
	var pls []P
	for _, ev := range evs {
		if ev.Type != typ {
			continue
		}
		var p P
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			t.Fatalf("%s event %s: payload: %v", typ, ev.EventID, err)
		}
		out = append(out, ev)
		pls = append(pls, p)
	}
	return out, pls
}

// waitEvents polls the session's log until ok says it holds what the scenario posted.
func (ta *testApp) waitEvents(t *testing.T, sid, what string, ok func([]web.EventJSON) bool) []web.EventJSON {
	t.Helper()
	deadline := time.Now().Add(pageDeadline)
	for {
		evs, err := ta.tryEvents(sid)
		if err == nil && ok(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s: %s not in events_log within %s (err %v; log: %s)", sid, what, pageDeadline, err, summary(evs))
		}
		time.Sleep(pollEvery)
	}
}

func countType(evs []web.EventJSON, typ string) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// checkSymbolPage: the session's symbol cue got a page written by pagegen from the
// character's own corpus pages (section: the clicked cell's section, 0 for any).
func checkSymbolPage(section int) func(t *testing.T, ta *testApp, sid string) {
	return func(t *testing.T, ta *testApp, sid string) {
		evs := ta.waitEvents(t, sid, "the symbol cue", func(evs []web.EventJSON) bool { return countType(evs, event.TypeSymbol) >= 1 })
		clicks, pls := cues[event.SymbolClick](t, evs, event.TypeSymbol)
		if len(clicks) != 1 {
			t.Fatalf("the scenario clicked one symbol; the log holds %d symbol cues", len(clicks))
		}
		if section != 0 && pls[0].SectionID != section {
			t.Errorf("the cue is for section %d, want %d", pls[0].SectionID, section)
		}
		_, _, pd := ta.waitPage(t, sid, clicks[0].EventID)
		ta.checkPageFromCorpus(t, pd, ta.characterByID(t, pls[0].CharacterID))
	}
}

// checkDialBurst: the five turns are in the log, and exactly one page was written for
// them: for the last turn (E). Pages of one session go through the same partitions in
// order, so once the last turn's page is stored any page of an earlier turn is too.
func checkDialBurst(t *testing.T, ta *testApp, sid string) {
	evs := ta.waitEvents(t, sid, "the five dial turns", func(evs []web.EventJSON) bool { return countType(evs, event.TypeOrientation) >= 5 })
	turns, pls := cues[event.OrientationTurn](t, evs, event.TypeOrientation)
	var got []string
	for _, p := range pls {
		got = append(got, p.Orientation)
	}
	if want := []string{"S", "W", "N", "W", "E"}; !slices.Equal(got, want) {
		t.Fatalf("the dial turns in the log are %v, want %v (in the order clicked)", got, want)
	}
	last := turns[len(turns)-1]
	evs, _, pd := ta.waitPage(t, sid, last.EventID)
	if pd.Orientation != "E" {
		t.Errorf("the dial's page faces %q, want E", pd.Orientation)
	}
	n := 0
	for _, turn := range turns {
		n += countPages(evs, turn.EventID)
	}
	if n != 1 {
		t.Fatalf("the burst of %d turns made %d pages, want 1 (log: %s)", len(turns), n, summary(evs))
	}
	if reqs := countType(evs, event.TypePageRequest); reqs != 2 { // the symbol's and the last turn's
		t.Errorf("the session has %d page requests, want 2 (the symbol's and the last turn's)", reqs)
	}
}

// checkAnswer: the question is stored as asked and its answer cites passages from the
// corpus.
func checkAnswer(prompt string) func(t *testing.T, ta *testApp, sid string) {
	return func(t *testing.T, ta *testApp, sid string) {
		evs := ta.waitEvents(t, sid, "the question", func(evs []web.EventJSON) bool { return countType(evs, event.TypeAsk) >= 1 })
		asks, pls := cues[event.Ask](t, evs, event.TypeAsk)
		if pls[0].Prompt != prompt {
			t.Errorf("the stored question is %q, want %q", pls[0].Prompt, prompt)
		}
		_, _, pd := ta.waitPage(t, sid, asks[0].EventID)
		checkCites(t, ta, pd)
	}
}

// checkCites: an answer names the actor and the passages it drew on, and quotes one.
func checkCites(t *testing.T, ta *testApp, pd event.PageDone) {
	t.Helper()
	if pd.Provenance.Actor != "pagegen" || len(pd.Provenance.Sources) == 0 || len(pd.Provenance.CorpusPages) == 0 {
		t.Fatalf("the answer's provenance cites nothing: %+v", pd.Provenance)
	}
	c := ta.characterByID(t, pd.CharacterID)
	if _, _, ok := sharedRun(pd.Text, characterPages(t, ta.Corpus.Dir(), c), 8); !ok {
		t.Errorf("the answer quotes no run of 8 words of %s's pages:\n%s", c.ID, pd.Text)
	}
}

// checkVault: the Vault row is stored with its label and notes, for a page of the session.
func checkVault(label, notes string) func(t *testing.T, ta *testApp, sid string) {
	return func(t *testing.T, ta *testApp, sid string) {
		v := waitVault(t, ta, sid, label)
		if v.Notes != notes {
			t.Errorf("the Vault row's notes are %q, want %q", v.Notes, notes)
		}
		st := waitLoad(t, ta, sid, func(st session.State) bool { _, ok := st.Page(v.PageID); return ok })
		if _, ok := st.Page(v.PageID); !ok {
			t.Errorf("the saved page %s is not a page of the session", v.PageID)
		}
	}
}

func waitVault(t *testing.T, ta *testApp, sid, label string) store.VaultEntry {
	t.Helper()
	deadline := time.Now().Add(pageDeadline)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rows, err := ta.Store.Vault(ctx, sid)
		cancel()
		for _, v := range rows {
			if v.Label == label {
				return v
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Vault row labelled %q for session %s within %s (rows %+v, err %v)", label, sid, pageDeadline, rows, err)
		}
		time.Sleep(pollEvery)
	}
}

// waitLoad resumes the session as the reader does (latest snapshot + the events after it)
// until ok holds.
func waitLoad(t *testing.T, ta *testApp, sid string, ok func(session.State) bool) session.State {
	t.Helper()
	deadline := time.Now().Add(pageDeadline)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := session.Load(ctx, ta.Store, sid)
		cancel()
		if err == nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s did not resume as expected within %s (err %v; state: orientation %s, symbol %s, pages %v)", sid, pageDeadline, err, st.Orientation, st.SymbolID, pageIDs(st))
			return st
		}
		time.Sleep(pollEvery)
	}
}

func pageIDs(st session.State) []string {
	var out []string
	for _, p := range st.Pages {
		out = append(out, p.PageID)
	}
	return out
}

// resumed is what a reader sees of a resumed session.
type resumed struct {
	Symbol, Orientation string
	Pages, Asks, Vault  []string
}

func resumedOf(st session.State) resumed {
	r := resumed{Symbol: st.SymbolID, Orientation: st.Orientation, Pages: pageIDs(st)}
	for _, a := range st.Asks {
		r.Asks = append(r.Asks, a.EventID+"→"+a.AnswerPageID)
	}
	for _, v := range st.Vault {
		r.Vault = append(r.Vault, v.EventID)
	}
	return r
}

// checkResumesFromSnapshot: the ledger wrote snapshots of the session (every 3 events), and
// resuming from the latest one plus the events after its cursor gives the same session as
// folding the whole log: the symbol chosen, the dial on W, both pages.
func checkResumesFromSnapshot(t *testing.T, ta *testApp, sid string, written func(string) int) {
	evs := ta.waitEvents(t, sid, "the symbol's page and the dial's page", func(evs []web.EventJSON) bool {
		turns := 0
		for _, ev := range evs {
			if ev.Type == event.TypeOrientation {
				turns++
			}
		}
		return turns == 1 && countType(evs, event.TypePageDone) >= 2
	})
	deadline := time.Now().Add(pageDeadline)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		snap, serr := ta.Store.LatestSnapshot(ctx, sid)
		all, aerr := ta.Store.Events(ctx, sid, "")
		loaded, lerr := session.Load(ctx, ta.Store, sid)
		cancel()
		if serr != nil && !errors.Is(serr, store.ErrNotFound) {
			t.Fatalf("latest snapshot of %s: %v", sid, serr)
		}
		if aerr != nil || lerr != nil {
			t.Fatalf("session %s: events %v, load %v", sid, aerr, lerr)
		}
		full := session.Fold(nil, all)
		want, got := resumedOf(full), resumedOf(loaded)
		done := serr == nil && len(all) >= len(evs) && fmt.Sprint(got) == fmt.Sprint(want) &&
			want.Orientation == "W" && len(want.Pages) >= 2
		if done {
			var snapState session.State
			if err := json.Unmarshal(snap.UIState, &snapState); err != nil {
				t.Fatalf("the snapshot's ui_state_json: %v", err)
			}
			if len(snapState.Pages) == 0 || snap.Cursor == "" {
				t.Errorf("the latest snapshot holds no page (cursor %q): resuming did not use it", snap.Cursor)
			}
			t.Logf("session %s: %d events, %d snapshots written; the latest (cursor %s) holds %d events, %d pages; resumed: %+v",
				sid, len(all), written(sid), snap.Cursor, snapState.Events, len(snapState.Pages), got)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s: resuming from the latest snapshot (found: %v, cursor %q) gives %+v; folding the whole log gives %+v (want the dial on W and 2 pages)",
				sid, serr == nil, snap.Cursor, got, want)
		}
		time.Sleep(pollEvery)
	}
}

// checkNoJSFlow: everything done without JavaScript reached the pipeline: the symbol's
// page, the question's answer, the Vault row, the dial's page facing S.
func checkNoJSFlow(t *testing.T, ta *testApp, sid string) {
	checkSymbolPage(8)(t, ta, sid)
	checkAnswer("Where does the path go?")(t, ta, sid)
	waitVault(t, ta, sid, "no script needed")
	evs := ta.waitEvents(t, sid, "the dial turn", func(evs []web.EventJSON) bool { return countType(evs, event.TypeOrientation) >= 1 })
	turns, pls := cues[event.OrientationTurn](t, evs, event.TypeOrientation)
	if len(turns) != 1 || pls[0].Orientation != "S" {
		t.Fatalf("the dial turns in the log are %+v, want one to S", pls)
	}
	_, _, pd := ta.waitPage(t, sid, turns[0].EventID)
	if pd.Orientation != "S" {
		t.Errorf("the dial's page faces %q, want S", pd.Orientation)
	}
}

// ---- markup through the real pipeline ----

// markupPrompt carries markup and script (and a textarea breakout) that must stay text.
const markupPrompt = `Is </textarea><svg onload="window.__gibseyPwned=6"> safe & sound? <i>no</i><script>window.__gibseyPwned=7</script>`

// markupInAsk asks a question full of markup; the answer (the fake model quotes the
// question verbatim and adds markup of its own) arrives live under Receive, citing the
// passages it drew on; nothing of the markup runs or becomes elements, on the reader, after
// a reload, and on the answer's own page; the markup shows as text.
func markupInAsk(t *testing.T, ta *testApp) {
	b := browsertest.Start(t, browsertest.Options{})
	b.Open(ta.URL + "/")
	b.WaitFor("the 16 × 16 grid", `document.querySelectorAll('.grid .cell').length === 256`)
	sid := b.String(`document.querySelector('#reader').getAttribute('data-session')`)
	if !event.ValidUUID(sid) {
		t.Fatalf("the reader's session is %q", sid)
	}
	b.Type("#prompt", markupPrompt)
	b.Click("form.ask button[type=submit]")
	b.WaitFor("the answer under Receive", `document.querySelectorAll('#answers article.page').length >= 1`)

	// The pipeline's side: the stored answer cites passages and quotes the markup.
	evs := ta.waitEvents(t, sid, "the question", func(evs []web.EventJSON) bool { return countType(evs, event.TypeAsk) == 1 })
	asks, pls := cues[event.Ask](t, evs, event.TypeAsk)
	if pls[0].Prompt != markupPrompt {
		t.Errorf("the stored question is %q, want it verbatim %q", pls[0].Prompt, markupPrompt)
	}
	_, _, pd := ta.waitPage(t, sid, asks[0].EventID)
	checkCites(t, ta, pd)
	if pd.Provenance.Generator != "llm" || !strings.Contains(pd.Text, markupPrompt) || !strings.Contains(pd.Text, modelMarkup) {
		t.Fatalf("the answer (generator %q) does not quote the question and the model's markup verbatim; the escaping check needs it to:\n%s", pd.Provenance.Generator, pd.Text)
	}

	// The templates use none of these: any of them would come from the question or the answer.
	const injected = `document.querySelector('[onload], [onerror], i, script:not([src]), a[href^="javascript:"], #asks svg, #answers svg, #answers img') === null`
	const notRun = `typeof window.__gibseyPwned === 'undefined'`
	answerText := `document.querySelector('#answers article.page .text').textContent`
	checkReader := func(when string) {
		t.Helper()
		if !b.Bool(injected) {
			t.Fatalf("%s: markup of the question or of the answer became elements", when)
		}
		if !b.Bool(notRun) {
			t.Fatalf("%s: script of the question or of the answer ran (window.__gibseyPwned = %v)", when, b.String(`String(window.__gibseyPwned)`))
		}
		text := b.String(answerText)
		for _, want := range []string{"</textarea>", `<svg onload="window.__gibseyPwned=6">`, "<script>window.__gibseyPwned=7</script>", `<img src=x onerror="window.__gibseyPwned=3">`} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: the answer does not show %q as text: %q", when, want, text)
			}
		}
		if n := b.Int(`document.querySelectorAll('#answers article.page .why .sources li a').length`); n == 0 {
			t.Errorf("%s: the answer under Receive cites no passages", when)
		}
	}
	checkReader("live")
	b.Screenshot("markup-answer-live")

	b.Reload()
	b.WaitFor("the answer after a reload", `document.querySelectorAll('#answers article.page').length >= 1`)
	checkReader("after a reload")
	if q := b.String(`document.querySelector('#asks li q').textContent`); q != markupPrompt {
		t.Errorf("after a reload the question shows as %q, want the text %q", q, markupPrompt)
	}

	// The answer's own page ("why this page").
	b.Open(ta.URL + "/pages/" + pd.PageID)
	b.WaitFor("the answer's page", `document.body.textContent.includes('You asked:')`)
	if !b.Bool(`document.querySelector('[onload], [onerror], i, script:not([src]), a[href^="javascript:"], article svg, article img') === null`) || !b.Bool(notRun) {
		t.Fatal("the answer's page turned the markup into elements or ran it")
	}
	if !b.Bool(`document.body.textContent.includes('<script>window.__gibseyPwned=7</script>')`) {
		t.Error("the answer's page does not show the question's <script> as text")
	}
	b.Screenshot("markup-answer-page")
}

// ---- the live tail waits for the ledger ----

// slowPages delays the ledger's appends of page.done events, as a busy Cassandra does.
type slowPages struct {
	store.Store
	delay time.Duration
}

func (s slowPages) AppendEvent(ctx context.Context, ev store.StoredEvent) (bool, error) {
	if ev.Type == event.TypePageDone {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return s.Store.AppendEvent(ctx, ev)
}

// TestLivePageIsAlreadyStored: a page announced on a reader's live stream can already be
// fetched from the store (the browser then fetches its fragment, places an answer under
// Receive, shows "Why this page"), even when the ledger stores it after the live tail has
// read it from Kafka. Found by the browser scenarios on real Cassandra: the fragment of a
// page just announced was a 404 and the reader showed a bare page (an answer under Pages
// instead of Receive).
func TestLivePageIsAlreadyStored(t *testing.T) {
	ta := startApp(t, embeddedBackend, appOpts{WrapStore: func(s store.Store) store.Store {
		return slowPages{Store: s, delay: 300 * time.Millisecond}
	}})
	sid := event.NewID()
	live, cancel := ta.Hub.Subscribe(sid)
	defer cancel()
	c := ta.characterByID(t, "princhetta")
	for i, o := range []string{"N", "E"} {
		cue := ta.postSymbol(t, sid, c, o)
		timer := time.NewTimer(pageDeadline)
		for got := false; !got; {
			select {
			case ev := <-live:
				var pd event.PageDone
				if ev.Type != event.TypePageDone || json.Unmarshal(ev.Payload, &pd) != nil || pd.Provenance.CauseEventID != cue {
					continue
				}
				got = true
				ok, err := ta.Store.HasEvent(context.Background(), sid, ev.EventID)
				if err != nil || !ok {
					t.Fatalf("page %d (%s) was announced live before the ledger stored it (stored: %v, err %v)", i+1, pd.PageID, ok, err)
				}
				resp, err := ta.client.Get(ta.URL + "/fragments/pages/" + pd.PageID + "?session_id=" + sid)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("the fragment of page %s, just announced live: %d, want 200", pd.PageID, resp.StatusCode)
				}
			case <-timer.C:
				t.Fatalf("no page for cue %s on the live hub within %s", cue, pageDeadline)
			}
		}
		timer.Stop()
	}
}
