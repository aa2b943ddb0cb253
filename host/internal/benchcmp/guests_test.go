package benchcmp

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/gibsey/gibsey/host/actors"
	"github.com/gibsey/gibsey/host/authoring"
	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/internal/wasmbuild"
	"github.com/gibsey/gibsey/sdk/frame"
)

// Guest sources, relative to the module root.
const (
	goSDKGuest  = "host/internal/benchcmp/testdata/gosdk"
	goJSONGuest = "host/internal/benchcmp/testdata/gojson"
	extismGuest = "host/internal/benchcmp/testdata/extismguest"
	asGuest     = "host/internal/benchcmp/testdata/asguest/index.ts"
)

// asWasm builds the AssemblyScript guest (cached), or skips the test when the AssemblyScript
// compiler is not installed, unless GIBSEY_REQUIRE_AS is set (the Makefile sets it after
// `npm ci`), in which case that is a failure.
func asWasm(t testing.TB, entry string) []byte {
	t.Helper()
	root, err := authoring.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	p, err := authoring.BuildASCached(context.Background(), root, entry)
	if err != nil {
		if os.Getenv("GIBSEY_REQUIRE_AS") == "" && authoring.IsNoASC(err) {
			t.Skipf("AssemblyScript variant skipped: %v", err)
		}
		t.Fatal(err)
	}
	return readFile(t, p)
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// variant is one way of doing the benchmark's work: call takes the request in the variant's
// encoding and returns the response.
type variant struct {
	name string
	// enc is the request encoding: "frame" or "json"; "raw" for the copy baseline.
	enc  string
	call func(req []byte) ([]byte, error)
	size int // module size in bytes (0 for native)
	// gen, when set, takes the request itself rather than its encoding (the call through
	// host/actors, which encodes the request and decodes the response on the host side)
	gen func(r *frame.Request) (title, text string, err error)
}

// Names of the native baselines (the ratios' denominators).
const (
	nameNativeFrame = "native Go, sdk/frame"
	nameNativeJSON  = "native Go, encoding/json (naive)"
)

// actorsRuntime installs the Go SDK guest in a host/actors.Runtime (the host's own call path:
// instance pool, deadline, memory and output limits, request encoding, response decoding and
// checks) and returns a function that asks it for a page.
func actorsRuntime(t testing.TB, wasm []byte) func(r *frame.Request) (string, string, error) {
	t.Helper()
	ctx := context.Background()
	rt, err := actors.New(ctx, actors.Config{PoolSize: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	m := actors.Manifest{
		Name: "bench", Version: "bench", Voice: "bench", Handles: []string{"page"},
		SelfTest: json.RawMessage(`{"kind":"page","voice":"bench","character_id":"london-fox","section_id":1,"orientation":"N"}`),
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Install(ctx, wasm, m); err != nil {
		t.Fatalf("install the Go SDK guest in actors.Runtime: %v", err)
	}
	return func(r *frame.Request) (string, string, error) {
		c := actors.Call{EventID: r.EventID, SessionID: r.SessionID, TS: time.UnixMilli(r.TSMillis), Request: event.PageRequest{
			RequestID: r.RequestID, CauseEventID: r.CauseEventID, CauseType: r.CauseType, Voice: r.Voice,
			CharacterID: r.CharacterID, SectionID: r.SectionID, SymbolID: r.SymbolID, Orientation: r.Orientation,
			Prompt: r.Prompt, Symbols: r.Symbols, Meaning: r.Meaning, ParentPageID: r.ParentPageID,
			ParentText: r.ParentText, Attempt: r.Attempt,
		}}
		for _, p := range r.RecentPages {
			c.Request.RecentPages = append(c.Request.RecentPages, event.PageRef{PageID: p.PageID, CharacterID: p.CharacterID, SectionID: p.SectionID, Title: p.Title, Text: p.Text})
		}
		res, err := rt.Generate(ctx, "bench", c)
		return res.Title, res.Text, err
	}
}

// modules are the compiled wasm modules of the guests, for the compile/instantiate table.
type module struct {
	name string
	wasm []byte
	// extism: compiled and instantiated through the Extism SDK
	extism bool
}

// setup builds every guest (cached between runs), instantiates them in one runtime each and
// returns the variants in table order. Cleanup closes everything.
func setup(t testing.TB) ([]variant, []module) {
	t.Helper()
	ctx := context.Background()
	goSDK := readFile(t, wasmbuild.Guest(t, goSDKGuest))
	goJSON := readFile(t, wasmbuild.Guest(t, goJSONGuest))
	ext := readFile(t, wasmbuild.Guest(t, extismGuest))
	as := asWasm(t, asGuest)
	raw := RawCopyModule()

	rt, err := NewRuntime(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	guest := func(name string, wasm []byte) *Guest {
		cm, err := rt.CompileModule(ctx, wasm)
		if err != nil {
			t.Fatalf("%s: compile: %v", name, err)
		}
		g, err := Instantiate(ctx, rt, cm)
		if err != nil {
			t.Fatalf("%s: instantiate: %v", name, err)
		}
		return g
	}
	gRaw := guest("raw", raw)
	gSDK := guest("Go SDK", goSDK)
	gJSON := guest("Go encoding/json", goJSON)
	gAS := guest("AS SDK", as)
	rtFast, err := NewRuntimeNoDeadline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rtFast.Close(ctx) })
	fast := func(name string, wasm []byte) *Guest {
		cm, err := rtFast.CompileModule(ctx, wasm)
		if err != nil {
			t.Fatalf("%s: compile: %v", name, err)
		}
		g, err := Instantiate(ctx, rtFast, cm)
		if err != nil {
			t.Fatalf("%s: instantiate: %v", name, err)
		}
		return g
	}
	gSDKFast := fast("Go SDK", goSDK)
	gASFast := fast("AS SDK", as)
	x, err := NewExtism(ctx, ext, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close(ctx) })
	if err := x.Start(ctx); err != nil {
		t.Fatal(err)
	}

	rtActors := actorsRuntime(t, goSDK)

	var enc frame.Encoder
	call := func(g *Guest) func([]byte) ([]byte, error) {
		return func(req []byte) ([]byte, error) { return g.Call(ctx, req) }
	}
	vs := []variant{
		{name: nameNativeFrame, enc: "frame", call: func(req []byte) ([]byte, error) { return NativeFrame(req, &enc) }},
		{name: nameNativeJSON, enc: "json", call: NativeJSON},
		{name: "raw wazero call, copy only (no work)", enc: "raw", call: call(gRaw), size: len(raw)},
		{name: "Go SDK guest, frame request", enc: "frame", call: call(gSDK), size: len(goSDK)},
		{name: "Go SDK guest, JSON request", enc: "json", call: call(gSDK), size: len(goSDK)},
		{name: "Go SDK guest via actors.Runtime.Generate", enc: "frame", gen: rtActors, size: len(goSDK)},
		{name: "Go guest, encoding/json, no SDK (naive)", enc: "json", call: call(gJSON), size: len(goJSON)},
		{name: "AssemblyScript SDK guest, frame request", enc: "frame", call: call(gAS), size: len(as)},
		{name: "AssemblyScript SDK guest, JSON request", enc: "json", call: call(gAS), size: len(as)},
		{name: "Extism go-sdk + go-pdk guest, encoding/json", enc: "json", call: func(req []byte) ([]byte, error) { return x.Call(ctx, req) }, size: len(ext)},
		{name: "Go SDK guest, frame, no deadline check*", enc: "frame", call: call(gSDKFast), size: len(goSDK)},
		{name: "AS SDK guest, frame, no deadline check*", enc: "frame", call: call(gASFast), size: len(as)},
	}
	mods := []module{
		{name: "raw copy (hand-assembled)", wasm: raw},
		{name: "Go SDK guest", wasm: goSDK},
		{name: "Go encoding/json guest", wasm: goJSON},
		{name: "AssemblyScript SDK guest", wasm: as},
		{name: "Extism go-pdk guest (via go-sdk)", wasm: ext, extism: true},
	}
	return vs, mods
}

// TestBenchGuestsAgree runs every variant once on a 1 KB and a 64 KB request, with and without
// the per-byte work, and checks that they all write the page native Go writes: the benchmark
// compares like with like.
func TestBenchGuestsAgree(t *testing.T) {
	vs, _ := setup(t)
	for _, tc := range []struct {
		size      int
		codecOnly bool
	}{{1 << 10, false}, {64 << 10, false}, {1 << 10, true}, {64 << 10, true}} {
		size := tc.size
		r := Request(size, tc.codecOnly)
		reqs := map[string][]byte{"frame": EncodeFrame(r), "json": EncodeJSON(r)}
		if n := len(reqs["frame"]); n < size*9/10 || n > size*11/10 {
			t.Fatalf("a %d-byte request encodes to %d bytes", size, n)
		}
		wantTitle, wantText := Work(r)
		if wantTitle != "Echo of london-fox" || (tc.codecOnly != (wantText == r.ParentText)) {
			t.Fatalf("native work (codec only %v): %q, %d bytes", tc.codecOnly, wantTitle, len(wantText))
		}
		for _, v := range vs {
			if v.gen != nil {
				title, text, err := v.gen(r)
				if err != nil {
					t.Fatalf("%s, %d bytes: %v", v.name, size, err)
				}
				if title != wantTitle || text != wantText {
					t.Errorf("%s, %d bytes (codec only %v): page differs from native Go: title %q, text %d bytes, want %d bytes",
						v.name, size, tc.codecOnly, title, len(text), len(wantText))
				}
				continue
			}
			if v.enc == "raw" {
				out, err := v.call(reqs["frame"])
				if err != nil || string(out) != string(reqs["frame"]) {
					t.Fatalf("%s: the copy baseline did not return its input (err %v)", v.name, err)
				}
				continue
			}
			out, err := v.call(reqs[v.enc])
			if err != nil {
				t.Fatalf("%s, %d bytes: %v", v.name, size, err)
			}
			title, text, err := DecodePage(out)
			if err != nil {
				t.Fatalf("%s, %d bytes: %v", v.name, size, err)
			}
			if title != wantTitle || text != wantText {
				t.Errorf("%s, %d bytes (codec only %v): page differs from native Go: title %q, text %d bytes %q…, want %d bytes %q…",
					v.name, size, tc.codecOnly, title, len(text), clip(text), len(wantText), clip(wantText))
			}
		}
	}
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60]
	}
	return s
}

// TestRawCopyModuleIsValid checks the hand-assembled baseline module compiles and exports what
// the ABI asks.
func TestRawCopyModuleIsValid(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, RawCopyModule())
	if err != nil {
		t.Fatal(err)
	}
	ex := cm.ExportedFunctions()
	for _, name := range []string{"alloc", "handle", "gibsey_abi_version"} {
		if _, ok := ex[name]; !ok {
			t.Errorf("raw module does not export %s", name)
		}
	}
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		t.Error("raw module does not export memory")
	}
}
