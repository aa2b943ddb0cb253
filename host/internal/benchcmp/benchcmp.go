// Package benchcmp measures what a story actor's call costs, side by side: the same guest work
// (decode a page request, count the words of its parent_text and upper-case it, or for the
// codec-only table just echo it, then encode a page) done in native Go (with sdk/frame and
// with encoding/json), through a raw wazero call with no SDK (the boundary alone), through the
// Go SDK (frame and JSON requests, bare and through host/actors.Runtime.Generate), a
// hand-written Go guest using encoding/json, the AssemblyScript SDK (frame and JSON requests),
// and through Extism (github.com/extism/go-sdk host, go-pdk guest). It also measures compile
// and instantiate times with and without wazero's compilation cache.
//
//	go test -run '^$' -bench Compare ./host/internal/benchcmp
//
// prints the tables (medians of interleaved samples, and ratios to native Go with sdk/frame
// and with encoding/json); README.md has a measured table and what it means for the issue's
// ≤5× target. TestBenchGuestsAgree checks that every variant computes the same page, so that
// the numbers compare like with like.
package benchcmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/gibsey/gibsey/sdk/frame"
)

// Echo is the benchmark's work in native Go: the title and text of the page the guests write
// for a request. Every guest in testdata implements exactly this.
func Echo(character, orientation, text string) (title, body string) {
	words := 0
	in := false
	up := make([]byte, len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			in = false
		} else if !in {
			in = true
			words++
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	b := make([]byte, 0, len(text)+48)
	b = strconv.AppendInt(b, int64(words), 10)
	b = append(b, " words, facing "...)
	b = append(b, orientation...)
	b = append(b, ":\n\n"...)
	b = append(b, up...)
	return "Echo of " + character, string(b)
}

// CodecOnly is the prompt that tells every variant to skip the per-byte work: the page's text
// is the request's parent_text, so only decoding and encoding are measured.
const CodecOnly = "codec-only"

// Work is the page every variant writes for r: Echo, or for a CodecOnly request the
// parent_text itself.
func Work(r *frame.Request) (title, text string) {
	if r.Prompt == CodecOnly {
		return "Echo of " + r.CharacterID, r.ParentText
	}
	return Echo(r.CharacterID, r.Orientation, r.ParentText)
}

// Request returns a page request whose frame encoding is about size bytes: a parent_text of
// mixed prose (ASCII with a few multi-byte characters) plus the usual envelope fields. With
// codecOnly, its prompt is CodecOnly.
func Request(size int, codecOnly bool) *frame.Request {
	r := &frame.Request{
		Kind: "page", EventID: "6a1f0c52-7d2e-4c47-9b3c-0a1d2e3f4a5b", SessionID: "1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b",
		TSMillis: 1764806400000, Actor: "bench", RequestID: "2c3d4e5f-6071-4829-9aab-1c2d3e4f5a6b",
		CauseEventID: "3d4e5f60-7182-493a-abbc-2d3e4f5a6b7c", CauseType: "ui.symbol", Voice: "bench",
		CharacterID: "london-fox", SectionID: 1, SymbolID: "S1-LF", Orientation: "E",
		Symbols: []string{"S1-LF", "S2-JM"}, Meaning: "the fox turns east, toward the morning",
		RecentPages: []frame.PageRef{{PageID: "4e5f6071-8293-4a4b-bccd-3e4f5a6b7c8d", CharacterID: "london-fox", SectionID: 1, Title: "The fox", Text: "A fox in London."}},
	}
	if codecOnly {
		r.Prompt = CodecOnly
	}
	var e frame.Encoder
	e.AppendRequest(r)
	fill := size - e.Len() - 4
	if fill < 16 {
		fill = 16
	}
	const prose = "The fox 🦊 crossed the bridge at dawn — a café still shut, the river talking to itself. "
	var sb strings.Builder
	for sb.Len() < fill {
		sb.WriteString(prose)
	}
	t := sb.String()[:fill]
	for !isRuneStart(t) {
		t = t[:len(t)-1]
	}
	r.ParentText = t
	return r
}

// isRuneStart reports whether s does not end in the middle of a UTF-8 sequence.
func isRuneStart(s string) bool {
	for i := len(s) - 1; i >= 0 && i >= len(s)-4; i-- {
		c := s[i]
		if c < 0x80 {
			return true
		}
		if c >= 0xC0 { // a leading byte: complete if the sequence fits
			n := 2
			if c >= 0xE0 {
				n = 3
			}
			if c >= 0xF0 {
				n = 4
			}
			return len(s)-i == n
		}
	}
	return true
}

// EncodeFrame is the request as a frame message.
func EncodeFrame(r *frame.Request) []byte {
	var e frame.Encoder
	e.AppendRequest(r)
	return append([]byte(nil), e.Bytes()...)
}

// EncodeJSON is the request in the JSON form.
func EncodeJSON(r *frame.Request) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	return b
}

// NativeFrame does the work natively with the frame encoding: decode the request, echo,
// encode the response into e (reused between calls).
func NativeFrame(req []byte, e *frame.Encoder) ([]byte, error) {
	var r frame.Request
	if err := frame.DecodeRequest(req, &r); err != nil {
		return nil, err
	}
	var resp frame.Response
	resp.Title, resp.Text = Work(&r)
	e.Reset()
	e.AppendResponse(&resp)
	return e.Bytes(), nil
}

// NativeJSON does the work natively with encoding/json.
func NativeJSON(req []byte) ([]byte, error) {
	var r frame.Request
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, err
	}
	var resp frame.Response
	resp.Title, resp.Text = Work(&r)
	return json.Marshal(&resp)
}

// DecodePage decodes a response in either encoding (frame or JSON) to its title and text;
// a response with its error set is an error.
func DecodePage(b []byte) (title, text string, err error) {
	var r frame.Response
	if len(b) > 0 && b[0] == frame.Magic {
		err = frame.DecodeResponse(b, &r)
	} else {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		return "", "", err
	}
	if r.Error != "" {
		return "", "", errors.New("guest answered with an error: " + r.Error)
	}
	return r.Title, r.Text, nil
}

// NewRuntime returns the wazero runtime every wasm variant runs in: the compiler, with
// close-on-context-done on (as in the host: without it a looping guest cannot be stopped),
// and optionally a compilation cache. It instantiates WASI (for Go guests) and stand-ins for
// the "gibsey" and "env" imports (no variant calls them during the benchmark).
func NewRuntime(ctx context.Context, cache wazero.CompilationCache) (wazero.Runtime, error) {
	return newRuntime(ctx, cache, true)
}

// NewRuntimeNoDeadline is NewRuntime without close-on-context-done, to show what the deadline
// check costs (the host never runs actors this way: a looping guest could not be stopped).
func NewRuntimeNoDeadline(ctx context.Context) (wazero.Runtime, error) {
	return newRuntime(ctx, nil, false)
}

func newRuntime(ctx context.Context, cache wazero.CompilationCache, closeOnDone bool) (wazero.Runtime, error) {
	cfg := wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(closeOnDone)
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	g := rt.NewHostModuleBuilder("gibsey")
	i32 := api.ValueTypeI32
	i64 := api.ValueTypeI64
	stub := func(name string, params, results []api.ValueType) {
		g.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
			if len(results) > 0 {
				stack[0] = api.EncodeI32(-6) // UNAVAILABLE
			}
		}), params, results).Export(name)
	}
	stub("log", []api.ValueType{i32, i32, i32}, nil)
	stub("retrieve", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32})
	stub("corpus_page", []api.ValueType{i32, i32, i32}, []api.ValueType{i32})
	stub("state_get", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32})
	stub("state_put", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32})
	stub("now", nil, []api.ValueType{i64})
	stub("random", []api.ValueType{i32, i32}, []api.ValueType{i32})
	stub("generate", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32})
	if _, err := g.Instantiate(ctx); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	_, err := rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, msg, file, line, col uint32) {
		panic(fmt.Sprintf("guest aborted at line %d col %d", line, col))
	}).Export("abort").
		NewFunctionBuilder().WithFunc(func() float64 { return 0 }).Export("seed").
		Instantiate(ctx)
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	return rt, nil
}

// Guest is one instance of a module that speaks the Gibsey ABI (alloc, handle), called with
// no SDK on the host side: the cheapest honest way to call it.
type Guest struct {
	mod    api.Module
	alloc  api.Function
	handle api.Function
	mem    api.Memory
	stack  [2]uint64
	out    []byte
}

// Instantiate instantiates a compiled ABI module (calling _initialize when it has one).
func Instantiate(ctx context.Context, rt wazero.Runtime, cm wazero.CompiledModule) (*Guest, error) {
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
	if err != nil {
		return nil, err
	}
	g := &Guest{mod: mod, alloc: mod.ExportedFunction("alloc"), handle: mod.ExportedFunction("handle"), mem: mod.Memory()}
	if g.alloc == nil || g.handle == nil || g.mem == nil {
		mod.Close(ctx)
		return nil, errors.New("module does not export alloc, handle and memory")
	}
	return g, nil
}

// Call copies req into the guest, calls handle, and copies the response out (into a buffer
// reused between calls).
func (g *Guest) Call(ctx context.Context, req []byte) ([]byte, error) {
	g.stack[0] = uint64(len(req))
	if err := g.alloc.CallWithStack(ctx, g.stack[:]); err != nil {
		return nil, err
	}
	ptr := uint32(g.stack[0])
	if !g.mem.Write(ptr, req) {
		return nil, errors.New("alloc returned a block outside memory")
	}
	g.stack[0], g.stack[1] = uint64(ptr), uint64(len(req))
	if err := g.handle.CallWithStack(ctx, g.stack[:]); err != nil {
		return nil, err
	}
	rp, rn := uint32(g.stack[0]>>32), uint32(g.stack[0])
	b, ok := g.mem.Read(rp, rn)
	if !ok {
		return nil, errors.New("response outside memory")
	}
	g.out = append(g.out[:0], b...)
	return g.out, nil
}

// Close closes the instance.
func (g *Guest) Close(ctx context.Context) error { return g.mod.Close(ctx) }
