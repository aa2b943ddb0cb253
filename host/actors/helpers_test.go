package actors

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/internal/wasmbuild"
	"github.com/gibsey/gibsey/host/store"
)

// cacheDir is one wazero file compilation cache shared by every runtime of the tests, kept
// across runs in the user cache dir (wazero keys its entries by its version and the module's
// content, and writes them atomically), so that each module is compiled once.
var cacheDir string

func TestMain(m *testing.M) {
	base, err := os.UserCacheDir()
	if err != nil || base == "" {
		base = os.TempDir()
	}
	cacheDir = filepath.Join(base, "gibsey-wasm", "wazero-cache")
	os.Exit(m.Run())
}

// Test passages: our own sentences, tagged with the novel's page numbers of their cells.
func testPassages() []store.Passage {
	var ps []store.Passage
	add := func(char string, sec, page int, text string) {
		ps = append(ps, store.Passage{ID: fmt.Sprintf("%s-%d", char, page), CharacterID: char, SectionID: sec, PageNumber: page, Text: text})
	}
	add("princhetta", 8, 381, "Princhetta counts the rides that closed this year. Each one left a square of fresh asphalt where the queue used to wait.")
	add("princhetta", 8, 382, "She thinks the park thinks through her. When a ride is torn down, a thought goes with it, and another is built on the lot.")
	add("princhetta", 8, 383, "The pathways carve pathways, she writes in the margin. Every loop of the monorail is a sentence she has said before.")
	add("princhetta", 8, 384, "At closing time the lights go off in the order they were installed. Princhetta waits for the last one and calls it morning.")
	add("princhetta", 8, 385, "Nobody has told her she is a story. She suspects it anyway, the way one suspects rain from the smell of the concrete.")
	add("london-fox", 2, 40, "London Fox steps onto the escalator and leaves a little of herself on every stair. By the top floor she is mostly rumor.")
	add("london-fox", 2, 41, "The mall keeps her receipts. They add up to a woman who bought everything and carried nothing home.")
	return ps
}

func newEnv() *MemEnv { return &MemEnv{Passages: testPassages(), Pages: map[int]CorpusPage{}} }

// countingHandler counts log records (the guests' lines go through the runtime's logger).
type countingHandler struct {
	n     atomic.Int64
	actor atomic.Int64
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.n.Add(1)
	if strings.HasPrefix(r.Message, "actor: ") {
		h.actor.Add(1)
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = cacheDir
	}
	if cfg.Env == nil {
		cfg.Env = newEnv()
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	r, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

// plugin reads a built-in plugin's wasm and manifest.
func plugin(t testing.TB, name string) ([]byte, Manifest) {
	t.Helper()
	dir := wasmbuild.Plugins(t)
	wasm, err := os.ReadFile(filepath.Join(dir, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	mb, err := os.ReadFile(filepath.Join(dir, name+".manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(mb)
	if err != nil {
		t.Fatal(err)
	}
	return wasm, m
}

var (
	misbehaveOnce sync.Once
	misbehaveWasm []byte
	misbehaveMan  Manifest
	misbehaveErr  error
)

// misbehave returns the misbehaving test guest and its manifest (renamed when name is set).
func misbehave(t testing.TB) ([]byte, Manifest) {
	t.Helper()
	p := wasmbuild.Guest(t, "host/actors/testdata/misbehave")
	misbehaveOnce.Do(func() {
		misbehaveWasm, misbehaveErr = os.ReadFile(p)
		if misbehaveErr != nil {
			return
		}
		var mb []byte
		mb, misbehaveErr = os.ReadFile("testdata/misbehave/manifest.json")
		if misbehaveErr == nil {
			misbehaveMan, misbehaveErr = ParseManifest(mb)
		}
	})
	if misbehaveErr != nil {
		t.Fatal(misbehaveErr)
	}
	m := misbehaveMan
	m.Handles = append([]string(nil), m.Handles...)
	return misbehaveWasm, m
}

func install(t testing.TB, r *Runtime, wasm []byte, m Manifest) Info {
	t.Helper()
	info, err := r.Install(context.Background(), wasm, m)
	if err != nil {
		t.Fatalf("install %s: %v", m.Name, err)
	}
	return info
}

var ts0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// call builds a page-request call.
func call(char string, sec int, o, prompt string) Call {
	return Call{
		EventID: "11111111-1111-4111-8111-111111111111", SessionID: "22222222-2222-4222-8222-222222222222", TS: ts0,
		Request: event.PageRequest{
			RequestID: "33333333-3333-4333-8333-333333333333", CauseEventID: "44444444-4444-4444-8444-444444444444",
			CauseType: event.TypeSymbol, Voice: "page", CharacterID: char, SectionID: sec, SymbolID: char,
			Orientation: o, Prompt: prompt,
		},
	}
}

// eventually polls cond until it holds or the (generous) deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// relaxed gives a manifest the longest deadline, for tests under load that are not about
// deadlines (a shared 2-core machine can stall a call for seconds).
func relaxed(m Manifest) Manifest {
	m.DeadlineMillis = MaxDeadlineMillis
	return m
}

// loadBuiltinsRelaxed installs the built-in plugins with relaxed deadlines.
func loadBuiltinsRelaxed(t testing.TB, r *Runtime) {
	t.Helper()
	for _, name := range []string{"pagegen", "symbols", "analyst", "commentary"} {
		w, m := plugin(t, name)
		install(t, r, w, relaxed(m))
	}
}
