package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/gibsey/gibsey/host/corpus"
	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/internal/wasmbuild"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/web"
)

// Deadlines: generous, because the machine is small and shared, and a real consumer group
// can take seconds to (re)join. Tests poll; they never assert timings.
const (
	pageDeadline  = 90 * time.Second  // a cue becomes a stored page
	warmDeadline  = 120 * time.Second // a fresh App on real Kafka has every stage joined
	pollEvery     = 150 * time.Millisecond
	httpTimeout   = 30 * time.Second
	startDeadline = 3 * time.Minute // app.New (connect, migrate, ingest, compile actors)
)

// backend says which Kafka and which store an App uses: nil lists mean embedded.
type backend struct {
	name      string
	kafka     []string
	cassandra []string
}

func (b backend) realKafka() bool     { return len(b.kafka) > 0 }
func (b backend) realCassandra() bool { return len(b.cassandra) > 0 }

var embeddedBackend = backend{name: "embedded"}

// realBackend is the real services named by GIBSEY_TEST_KAFKA / GIBSEY_TEST_CASSANDRA (one
// or both; the other stays embedded). It skips the test when neither is set.
func realBackend(t testing.TB) backend {
	t.Helper()
	if len(envKafka) == 0 && len(envCassandra) == 0 {
		t.Skip("GIBSEY_TEST_KAFKA and GIBSEY_TEST_CASSANDRA are not set (e.g. 127.0.0.1:9092 and 127.0.0.1:9042): skipping the run on real Kafka and Cassandra (make test sets them)")
	}
	return backend{name: "real", kafka: envKafka, cassandra: envCassandra}
}

// bothServices skips unless real Kafka and real Cassandra are both configured.
func bothServices(t testing.TB) backend {
	t.Helper()
	if len(envKafka) == 0 || len(envCassandra) == 0 {
		t.Skip("this test needs real Kafka and real Cassandra: set GIBSEY_TEST_KAFKA and GIBSEY_TEST_CASSANDRA (e.g. 127.0.0.1:9092 and 127.0.0.1:9042; make test sets them)")
	}
	return backend{name: "real", kafka: envKafka, cassandra: envCassandra}
}

// forEachBackend runs fn on the embedded backend and on the real services.
func forEachBackend(t *testing.T, fn func(t *testing.T, be backend)) {
	t.Run("embedded", func(t *testing.T) { fn(t, embeddedBackend) })
	t.Run("real", func(t *testing.T) { fn(t, realBackend(t)) })
}

// appOpts tune startApp. Zero values: a fresh temp data dir, the sample corpus.
type appOpts struct {
	DataDir   string // reuse a data dir (restart); empty: a fresh one
	CorpusDir string // empty: the project's examples/corpus
	NoWarmUp  bool   // skip the warm-up on real Kafka
	Quiet     bool   // discard logs (benchmarks)
	// WrapStore wraps the App's store (fault injection).
	WrapStore func(store.Store) store.Store
	// AdminToken enables the admin endpoints.
	AdminToken string
	// Configure adjusts the configuration last (debounce, snapshots, a generator...).
	Configure func(*Config)
}

// testApp is a running App behind an httptest server.
type testApp struct {
	*App
	be      backend
	srv     *httptest.Server
	URL     string
	DataDir string
	Plugins string
	client  *http.Client

	stopOnce sync.Once
}

func moduleRoot(t testing.TB) string {
	t.Helper()
	root, err := wasmbuild.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// startApp starts an App on be with a temp data dir, serves it with httptest, stops both
// at the end of the test, and (on real Kafka) warms it up before returning.
func startApp(t testing.TB, be backend, opts appOpts) *testApp {
	t.Helper()
	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if cache := filepath.Join(dataDir, "wasm-cache"); !exists(cache) {
		if err := os.Symlink(wasmCache, cache); err != nil {
			t.Fatal(err)
		}
	}
	corpusDir := opts.CorpusDir
	if corpusDir == "" {
		corpusDir = filepath.Join(moduleRoot(t), "examples", "corpus")
	}
	cfg := Config{
		DataDir:    dataDir,
		CorpusDir:  corpusDir,
		PluginsDir: wasmbuild.Plugins(t),
		Kafka:      be.kafka,
		Cassandra:  be.cassandra,
		Logger:     testLogger(t, opts.Quiet),
		wrapStore:  opts.WrapStore,
		AdminToken: opts.AdminToken,
	}
	if be.realCassandra() {
		cfg.Keyspace = testKeyspace
	}
	if be.realKafka() {
		// The topics are shared with other tests and packages: own groups, from the end.
		cfg.GroupPrefix = fmt.Sprintf("apptest-%d-%06d", time.Now().UnixNano(), rand.IntN(1e6))
		cfg.NewGroupsAtEnd = true
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startDeadline)
	defer cancel()
	a, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("app.New on %s: %v", be.name, err)
	}
	ta := &testApp{App: a, be: be, DataDir: dataDir, Plugins: cfg.PluginsDir}
	ta.srv = httptest.NewServer(a.Handler())
	ta.URL = ta.srv.URL
	ta.client = &http.Client{Timeout: httpTimeout}
	t.Cleanup(ta.stop)
	if be.realKafka() && !opts.NoWarmUp {
		ta.warmUp(t)
	}
	return ta
}

// stop closes the server (ending open streams) and the App. It is idempotent.
func (ta *testApp) stop() {
	ta.stopOnce.Do(func() {
		ta.srv.CloseClientConnections()
		ta.srv.Close()
		if err := ta.App.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "closing the app: %v\n", err)
		}
	})
}

// warmUp proves every stage has joined its group and positioned itself: a throwaway cue
// must come back as a page, both stored (stream, runner, ledger) and on the live hub
// (the SSE tail). A cue posted before a stage joined is skipped by it (new groups start at
// the end), so it first waits for the App's four groups to be stable, then posts a cue for
// a new session every few seconds until one makes it through.
func (ta *testApp) warmUp(t testing.TB) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(warmDeadline)
	ta.waitGroupsStable(t, deadline)
	type probe struct {
		sid, cue  string
		live      <-chan store.StoredEvent
		cancel    func()
		gotLive   bool
		gotStored bool
	}
	var probes []*probe
	defer func() {
		for _, p := range probes {
			p.cancel()
		}
	}()
	var lastPost time.Time
	for attempt := 0; ; {
		if time.Since(lastPost) > 3*time.Second {
			p := &probe{sid: event.NewID()}
			p.live, p.cancel = ta.Hub.Subscribe(p.sid)
			p.cue = ta.postSymbol(t, p.sid, ta.character(t, attempt), "N")
			probes = append(probes, p)
			attempt++
			lastPost = time.Now()
		}
		time.Sleep(pollEvery)
		for _, p := range probes {
		drain:
			for {
				select {
				case ev := <-p.live:
					if ev.Type == event.TypePageDone {
						p.gotLive = true
					}
				default:
					break drain
				}
			}
			if !p.gotStored {
				_, _, p.gotStored = findPage(ta.eventsNoFail(p.sid), p.cue)
			}
			if p.gotLive && p.gotStored {
				t.Logf("warm-up on %s: every stage answered after %d cue(s), %s", ta.be.name, attempt, time.Since(start).Round(time.Millisecond))
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("warm-up on %s: none of %d cues came back as a page (stored and live) within %s", ta.be.name, attempt, warmDeadline)
		}
	}
}

// waitGroupsStable waits until the App's consumer groups (ledger, stream, runner, live) are
// all stable with members.
func (ta *testApp) waitGroupsStable(t testing.TB, deadline time.Time) {
	t.Helper()
	prefix := ta.cfg.GroupPrefix + "-"
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		listed, err := ta.Bus.Admin().ListGroups(ctx)
		var mine []string
		if err == nil {
			for _, g := range listed.Groups() {
				if strings.HasPrefix(g, prefix) {
					mine = append(mine, g)
				}
			}
		}
		stable := 0
		if len(mine) > 0 {
			described, derr := ta.Bus.Admin().DescribeGroups(ctx, mine...)
			if derr == nil {
				for _, g := range described {
					if g.Err == nil && g.State == "Stable" && len(g.Members) > 0 {
						stable++
					}
				}
			}
			err = derr
		}
		cancel()
		last = fmt.Sprintf("%d of %d groups stable (err %v)", stable, len(mine), err)
		if stable == 4 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("warm-up: the App's consumer groups are not all stable yet (%s); trying cues anyway", last)
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

// syncBuf collects an App's logs; they are printed only when the test fails.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(t testing.TB, quiet bool) *slog.Logger {
	if quiet {
		return slog.New(slog.DiscardHandler)
	}
	buf := &syncBuf{}
	t.Cleanup(func() {
		if t.Failed() {
			s := buf.String()
			if len(s) > 200_000 {
				s = "…" + s[len(s)-200_000:]
			}
			t.Logf("app logs:\n%s", s)
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// ---- the reader's requests ----

// character returns the i-th character of the App's cast (wrapping around).
func (ta *testApp) character(t testing.TB, i int) corpus.Character {
	t.Helper()
	cs := ta.Corpus.Characters()
	if len(cs) == 0 {
		t.Fatal("the corpus has no characters")
	}
	return cs[(i%len(cs)+len(cs))%len(cs)]
}

func (ta *testApp) characterByID(t testing.TB, id string) corpus.Character {
	t.Helper()
	c, ok := ta.Corpus.Character(id)
	if !ok {
		t.Fatalf("the corpus has no character %q", id)
	}
	return c
}

// postSymbol posts a symbol cue as the page's script does and returns the event_id of the
// 202 answer.
func (ta *testApp) postSymbol(t testing.TB, sid string, c corpus.Character, orientation string) string {
	t.Helper()
	id, status, body := ta.trySymbol(sid, c, orientation)
	if status != http.StatusAccepted || !event.ValidUUID(id) {
		t.Fatalf("POST /event/ui/symbol (%s, section %d, %s): %d %s, want 202 {event_id}", c.ID, c.Section, orientation, status, body)
	}
	return id
}

// trySymbol posts a symbol cue and returns the event_id (when 202), the status and the body.
func (ta *testApp) trySymbol(sid string, c corpus.Character, orientation string) (string, int, string) {
	body, _ := json.Marshal(map[string]any{
		"session_id": sid, "character_id": c.ID, "section_id": c.Section,
		"symbol_id": c.SymbolID(c.Section), "orientation": orientation,
	})
	resp, err := ta.client.Post(ta.URL+"/event/ui/symbol", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", 0, err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		EventID string `json:"event_id"`
	}
	if resp.StatusCode == http.StatusAccepted {
		if err := json.Unmarshal(raw, &out); err != nil {
			return "", resp.StatusCode, string(raw)
		}
	}
	return out.EventID, resp.StatusCode, string(raw)
}

// events returns the session's events_log from GET /api/sessions/{id}/events.
func (ta *testApp) events(t testing.TB, sid string) []web.EventJSON {
	t.Helper()
	evs, err := ta.tryEvents(sid)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (ta *testApp) eventsNoFail(sid string) []web.EventJSON {
	evs, _ := ta.tryEvents(sid)
	return evs
}

func (ta *testApp) tryEvents(sid string) ([]web.EventJSON, error) {
	resp, err := ta.client.Get(ta.URL + "/api/sessions/" + sid + "/events")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/sessions/%s/events: %d %s", sid, resp.StatusCode, raw)
	}
	var evs []web.EventJSON
	if err := json.Unmarshal(raw, &evs); err != nil {
		return nil, fmt.Errorf("GET /api/sessions/%s/events: %v in %s", sid, err, raw)
	}
	return evs, nil
}

// findPage finds the page written for a cue (its provenance names the cue) in a log.
func findPage(evs []web.EventJSON, cueID string) (web.EventJSON, event.PageDone, bool) {
	for _, ev := range evs {
		if ev.Type != event.TypePageDone {
			continue
		}
		var pd event.PageDone
		if json.Unmarshal(ev.Payload, &pd) == nil && pd.Provenance.CauseEventID == cueID && pd.Voice == "page" {
			return ev, pd, true
		}
	}
	return web.EventJSON{}, event.PageDone{}, false
}

// countPages counts the page.done events written for a cue.
func countPages(evs []web.EventJSON, cueID string) int {
	n := 0
	for _, ev := range evs {
		var pd event.PageDone
		if ev.Type == event.TypePageDone && json.Unmarshal(ev.Payload, &pd) == nil && pd.Provenance.CauseEventID == cueID {
			n++
		}
	}
	return n
}

// waitPage polls the session's events_log until the page of the cue is stored, and returns
// the log and the page.
func (ta *testApp) waitPage(t testing.TB, sid, cueID string) ([]web.EventJSON, web.EventJSON, event.PageDone) {
	t.Helper()
	deadline := time.Now().Add(pageDeadline)
	var lastErr error
	for {
		evs, err := ta.tryEvents(sid)
		if err == nil {
			if ev, pd, ok := findPage(evs, cueID); ok {
				return evs, ev, pd
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("no page for cue %s of session %s in events_log within %s (last error: %v; log: %s)", cueID, sid, pageDeadline, lastErr, summary(evs))
		}
		time.Sleep(pollEvery)
	}
}

func summary(evs []web.EventJSON) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "[%s %s %s] ", ev.TS.Format(time.RFC3339Nano), ev.Type, ev.EventID)
	}
	return b.String()
}

// ---- SSE ----

type sseEvent struct {
	Event, ID, Data string
}

// sseStream reads GET /events/stream?session_id= as a browser's EventSource would.
type sseStream struct {
	cancel context.CancelFunc
	events chan sseEvent
	mu     sync.Mutex
	err    error
	body   io.Closer
}

// openSSE connects to the session's stream (with Last-Event-ID when lastID is set) and
// checks the answer is an event stream. The stream is closed at the end of the test.
func (ta *testApp) openSSE(t testing.TB, sid, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ta.URL+"/events/stream?session_id="+sid, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET /events/stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET /events/stream: %d %s %s, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	s := &sseStream{cancel: cancel, events: make(chan sseEvent, 4096), body: resp.Body}
	go s.read(resp.Body)
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) read(body io.Reader) {
	defer close(s.events)
	br := bufio.NewReader(body)
	var cur sseEvent
	var data []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if cur.Event != "" || len(data) > 0 {
				cur.Data = strings.Join(data, "\n")
				s.events <- cur
			}
			cur, data = sseEvent{}, nil
		case strings.HasPrefix(line, ":"):
			// comment (heartbeat)
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				cur.Event = value
			case "id":
				cur.ID = value
			case "data":
				data = append(data, value)
			}
		}
	}
}

func (s *sseStream) close() {
	s.cancel()
	s.body.Close()
}

// waitFor reads events until one matches (returned last) and returns all those read; it
// fails the test when the stream ends or nothing matches within the deadline.
func (s *sseStream) waitFor(t testing.TB, what string, match func(sseEvent) bool) []sseEvent {
	t.Helper()
	timer := time.NewTimer(pageDeadline)
	defer timer.Stop()
	var got []sseEvent
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.mu.Lock()
				err := s.err
				s.mu.Unlock()
				t.Fatalf("the SSE stream ended (%v) before %s; got %v", err, what, ids(got))
			}
			got = append(got, ev)
			if match(ev) {
				return got
			}
		case <-timer.C:
			t.Fatalf("no %s on the SSE stream within %s; got %v", what, pageDeadline, ids(got))
		}
	}
}

func ids(evs []sseEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Event+"#"+e.ID)
	}
	return out
}

// ssePage decodes a page.done SSE event.
func ssePage(t testing.TB, ev sseEvent) event.PageDone {
	t.Helper()
	var pd event.PageDone
	if err := json.Unmarshal([]byte(ev.Data), &pd); err != nil {
		t.Fatalf("SSE %s id %s: data is not a page.done: %v: %q", ev.Event, ev.ID, err, ev.Data)
	}
	return pd
}

// pageOf matches the page.done SSE event of a cue.
func pageOf(cueID string) func(sseEvent) bool {
	return func(ev sseEvent) bool {
		if ev.Event != "page.done" {
			return false
		}
		var pd event.PageDone
		return json.Unmarshal([]byte(ev.Data), &pd) == nil && pd.Provenance.CauseEventID == cueID
	}
}

// ---- text checks ----

// words splits text into lower-case words (letters and digits); punctuation, markdown and
// line breaks separate words.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// sharedRun returns the first run of n consecutive words of text that also appears in one
// of sources (as consecutive words), and which source.
func sharedRun(text string, sources map[int]string, n int) (run string, source int, ok bool) {
	grams := map[string]int{}
	for num, src := range sources {
		w := words(src)
		for i := 0; i+n <= len(w); i++ {
			grams[strings.Join(w[i:i+n], " ")] = num
		}
	}
	w := words(text)
	for i := 0; i+n <= len(w); i++ {
		g := strings.Join(w[i:i+n], " ")
		if num, hit := grams[g]; hit {
			return g, num, true
		}
	}
	return "", 0, false
}

// characterPages returns the text of a character's corpus pages by number, read straight
// from the corpus files (pages/NNN*.md), not through the host.
func characterPages(t testing.TB, corpusDir string, c corpus.Character) map[int]string {
	t.Helper()
	out := map[int]string{}
	for n := c.StartPage; n <= c.EndPage; n++ {
		matches, _ := filepath.Glob(filepath.Join(corpusDir, "pages", fmt.Sprintf("%03d*.md", n)))
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err != nil {
				t.Fatal(err)
			}
			out[n] += string(b) + "\n"
		}
	}
	if len(out) == 0 {
		t.Fatalf("no corpus pages %d..%d for %s in %s", c.StartPage, c.EndPage, c.ID, corpusDir)
	}
	return out
}

// checkPageFromCorpus checks a page quotes its character's corpus pages and that its
// provenance names the actor (and the content hash of its .wasm) and pages of that
// character.
func (ta *testApp) checkPageFromCorpus(t testing.TB, pd event.PageDone, c corpus.Character) {
	t.Helper()
	if pd.CharacterID != c.ID || pd.SectionID != c.Section {
		t.Errorf("page is for %s/%d, want %s/%d", pd.CharacterID, pd.SectionID, c.ID, c.Section)
	}
	pages := characterPages(t, ta.Corpus.Dir(), c)
	run, num, ok := sharedRun(pd.Text, pages, 8)
	if !ok {
		t.Errorf("the page for %s quotes no run of 8 words from its corpus pages %d..%d:\n%s", c.ID, c.StartPage, c.EndPage, pd.Text)
	} else {
		t.Logf("page for %s quotes page %d: %q", c.ID, num, run)
	}
	prov := pd.Provenance
	wasm, err := os.ReadFile(filepath.Join(ta.Plugins, "pagegen.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(wasm)
	if prov.Actor != "pagegen" || !strings.HasPrefix(hex.EncodeToString(sum[:]), prov.ActorHash) || len(prov.ActorHash) < 12 {
		t.Errorf("provenance names actor %q hash %q, want pagegen and the sha256 of pagegen.wasm %s", prov.Actor, prov.ActorHash, hex.EncodeToString(sum[:]))
	}
	if len(prov.CorpusPages) == 0 {
		t.Errorf("provenance names no corpus pages: %+v", prov)
	}
	for _, n := range prov.CorpusPages {
		if n < c.StartPage || n > c.EndPage {
			t.Errorf("provenance names corpus page %d, outside %s's pages %d..%d", n, c.ID, c.StartPage, c.EndPage)
		}
	}
	for _, s := range prov.Sources {
		if s.Generated == "" && s.CharacterID != c.ID {
			t.Errorf("provenance source %s is from %s, want %s", s.PassageID, s.CharacterID, c.ID)
		}
	}
}

// getJSON GETs a path and decodes a 200 answer.
func (ta *testApp) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := ta.client.Get(ta.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, raw)
	}
}
