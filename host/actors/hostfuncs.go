package actors

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"unicode/utf16"

	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/sdk/frame"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Host-function result codes (sdk/ABI.md section 4).
const (
	codeNotFound    = -1
	codeDenied      = -2
	codeBadArgument = -3
	codeHostError   = -4
	codeTooLarge    = -5
	codeUnavailable = -6
)

// Host-function limits.
const (
	maxLogLine    = 1024
	maxQuery      = 4096
	maxK          = 32
	maxStateKey   = 256
	maxStateValue = 64 << 10
	maxRandom     = 64 << 10
	maxPrompt     = 64 << 10
)

func stateOf(ctx context.Context) *callState {
	cs, _ := ctx.Value(callKey{}).(*callState)
	return cs
}

// instantiateHost defines module "gibsey" (all host functions: a module can only import the
// ones its manifest lists, checked at load) and module "env" (AssemblyScript's abort, seed,
// trace) in a version's runtime.
func instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	i32, i64, f64 := api.ValueTypeI32, api.ValueTypeI64, api.ValueTypeF64
	b := rt.NewHostModuleBuilder("gibsey")
	def := func(name string, fn api.GoModuleFunc, params, results []api.ValueType) {
		b.NewFunctionBuilder().WithGoModuleFunction(fn, params, results).Export(name)
	}
	def("log", hLog, []api.ValueType{i32, i32, i32}, nil)
	def("retrieve", hRetrieve, []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32})
	def("corpus_page", hCorpusPage, []api.ValueType{i32, i32, i32}, []api.ValueType{i32})
	def("state_get", hStateGet, []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32})
	def("state_put", hStatePut, []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32})
	def("now", hNow, nil, []api.ValueType{i64})
	def("random", hRandom, []api.ValueType{i32, i32}, []api.ValueType{i32})
	def("generate", hGenerate, []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32})
	if _, err := b.Instantiate(ctx); err != nil {
		return err
	}
	e := rt.NewHostModuleBuilder("env")
	e.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(envAbort), []api.ValueType{i32, i32, i32, i32}, nil).Export("abort")
	e.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		stack[0] = api.EncodeF64(0.4242)
	}), nil, []api.ValueType{f64}).Export("seed")
	e.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(envTrace), []api.ValueType{i32, i32, f64, f64, f64, f64, f64}, nil).Export("trace")
	_, err := e.Instantiate(ctx)
	return err
}

func setI32(stack []uint64, n int32) { stack[0] = api.EncodeI32(n) }

// guard turns a panic in a host function into HOST_ERROR for the guest and a failed call.
func (cs *callState) guard(stack []uint64, fn string) {
	if p := recover(); p != nil {
		cs.hostFailure = fmt.Sprintf("host function %s panicked: %v", fn, p)
		cs.v.r.log.Error("actor host function panicked", "actor", cs.v.m.Name, "function", fn, "panic", fmt.Sprint(p), "event_id", cs.req.EventID)
		if len(stack) > 0 {
			setI32(stack, codeHostError)
		}
	}
}

// envFailed records an Env error: the guest sees HOST_ERROR and, unless the function is
// optional (generate: the guest composes without it), the call fails (retryable).
func (cs *callState) envFailed(fn string, err error) int32 {
	if cs.hostFailure == "" && fn != "generate" {
		cs.hostFailure = fmt.Sprintf("host function %s: %v", fn, err)
	}
	cs.v.r.log.Warn("actor host function failed", "actor", cs.v.m.Name, "function", fn, "err", err.Error(), "event_id", cs.req.EventID)
	return codeHostError
}

// result computes fn's result, or reuses the pending result of the same call (same function,
// same arguments) that did not fit the guest's buffer last time, then delivers it.
func (cs *callState) result(mod api.Module, stack []uint64, fn string, arg []byte, outPtr, outCap uint32, compute func() ([]byte, int32)) {
	var res []byte
	if cs.pending.fn == fn && bytes.Equal(cs.pending.arg, arg) {
		res = cs.pending.result
	} else {
		r, code := compute()
		if code < 0 {
			cs.pending.fn = ""
			setI32(stack, code)
			return
		}
		res = r
	}
	if len(res) > math.MaxInt32 {
		setI32(stack, codeTooLarge)
		return
	}
	if uint32(len(res)) > outCap {
		cs.pending.fn, cs.pending.arg, cs.pending.result = fn, append([]byte(nil), arg...), res
		setI32(stack, int32(len(res)))
		return
	}
	cs.pending.fn, cs.pending.arg, cs.pending.result = "", nil, nil
	if len(res) > 0 && !mod.Memory().Write(outPtr, res) {
		setI32(stack, codeBadArgument)
		return
	}
	setI32(stack, int32(len(res)))
}

func hLog(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil {
		return
	}
	defer cs.guard(nil, "log")
	level, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
	cs.logs++
	s := cs.v.slot
	if cs.logs > cs.v.r.cfg.LogLinesPerCall || (s != nil && !s.logLimiter.allow()) {
		if s != nil {
			s.logsDropped.Add(1)
		}
		return
	}
	cut := false
	if n > maxLogLine {
		n, cut = maxLogLine, true
	}
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		return
	}
	msg := sanitize(string(b))
	if cut {
		msg += "…"
	}
	lvl := slog.LevelInfo
	switch {
	case level <= 0:
		lvl = slog.LevelDebug
	case level == 2:
		lvl = slog.LevelWarn
	case level >= 3:
		lvl = slog.LevelError
	}
	cs.v.r.log.Log(context.Background(), lvl, "actor: "+msg, "actor", cs.v.m.Name, "version", cs.v.m.Version, "event_id", cs.req.EventID)
}

func toFramePassages(ps []store.Passage) []frame.Passage {
	out := make([]frame.Passage, len(ps))
	for i, p := range ps {
		out[i] = frame.Passage{ID: p.ID, CharacterID: p.CharacterID, SectionID: p.SectionID, PageNumber: p.PageNumber, Text: sanitize(p.Text), Score: p.Score}
	}
	return out
}

func hRetrieve(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil {
		setI32(stack, codeDenied)
		return
	}
	defer cs.guard(stack, "retrieve")
	arg, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	if !ok {
		setI32(stack, codeBadArgument)
		return
	}
	cs.result(mod, stack, "retrieve", arg, uint32(stack[2]), uint32(stack[3]), func() ([]byte, int32) {
		var q frame.RetrieveQuery
		if err := frame.DecodeRetrieveQuery(arg, &q); err != nil {
			return nil, codeBadArgument
		}
		if len(q.Query) > maxQuery {
			return nil, codeTooLarge
		}
		if q.K <= 0 {
			q.K = 5
		}
		if q.K > maxK {
			q.K = maxK
		}
		ps, err := cs.env.Retrieve(cs.ctx, RetrieveQuery{Query: q.Query, CharacterID: q.CharacterID, SectionID: q.SectionID, K: q.K})
		if err != nil {
			return nil, cs.envFailed("retrieve", err)
		}
		if len(ps) > q.K {
			ps = ps[:q.K]
		}
		var enc frame.Encoder
		enc.AppendPassages(toFramePassages(ps))
		return enc.Bytes(), 0
	})
}

func hCorpusPage(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil {
		setI32(stack, codeDenied)
		return
	}
	defer cs.guard(stack, "corpus_page")
	n := int32(stack[0])
	var arg [4]byte
	binary.LittleEndian.PutUint32(arg[:], uint32(n))
	cs.result(mod, stack, "corpus_page", arg[:], uint32(stack[1]), uint32(stack[2]), func() ([]byte, int32) {
		if n <= 0 {
			return nil, codeNotFound
		}
		p, err := cs.env.CorpusPage(cs.ctx, int(n))
		if errors.Is(err, store.ErrNotFound) {
			return nil, codeNotFound
		}
		if err != nil {
			return nil, cs.envFailed("corpus_page", err)
		}
		var enc frame.Encoder
		enc.AppendCorpusPage(&frame.CorpusPage{Number: p.Number, CharacterID: p.CharacterID, SectionID: p.SectionID, Title: sanitize(p.Title), Text: sanitize(p.Text)})
		return enc.Bytes(), 0
	})
}

func hStateGet(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil {
		setI32(stack, codeDenied)
		return
	}
	defer cs.guard(stack, "state_get")
	if uint32(stack[1]) > maxStateKey {
		setI32(stack, codeTooLarge)
		return
	}
	key, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	if !ok {
		setI32(stack, codeBadArgument)
		return
	}
	cs.result(mod, stack, "state_get", key, uint32(stack[2]), uint32(stack[3]), func() ([]byte, int32) {
		v, err := cs.env.GetState(cs.ctx, cs.v.m.Name, cs.req.SessionID, string(key))
		if errors.Is(err, store.ErrNotFound) {
			return nil, codeNotFound
		}
		if err != nil {
			return nil, cs.envFailed("state_get", err)
		}
		return v, 0
	})
}

func hStatePut(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil {
		setI32(stack, codeDenied)
		return
	}
	defer cs.guard(stack, "state_put")
	if uint32(stack[1]) > maxStateKey || uint32(stack[3]) > maxStateValue {
		setI32(stack, codeTooLarge)
		return
	}
	key, ok1 := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	val, ok2 := mod.Memory().Read(uint32(stack[2]), uint32(stack[3]))
	if !ok1 || !ok2 {
		setI32(stack, codeBadArgument)
		return
	}
	if err := cs.env.PutState(cs.ctx, cs.v.m.Name, cs.req.SessionID, string(key), append([]byte(nil), val...)); err != nil {
		setI32(stack, cs.envFailed("state_put", err))
		return
	}
	setI32(stack, 0)
}

func hNow(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil {
		stack[0] = 0
		return
	}
	stack[0] = api.EncodeI64(cs.req.TSMillis)
}

func hRandom(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil {
		setI32(stack, codeDenied)
		return
	}
	defer cs.guard(stack, "random")
	ptr, n := uint32(stack[0]), uint32(stack[1])
	if n > maxRandom {
		setI32(stack, codeTooLarge)
		return
	}
	buf := make([]byte, n)
	_, _ = cs.rng.Read(buf)
	if !mod.Memory().Write(ptr, buf) {
		setI32(stack, codeBadArgument)
		return
	}
	setI32(stack, int32(n))
}

func hGenerate(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil {
		setI32(stack, codeDenied)
		return
	}
	defer cs.guard(stack, "generate")
	if uint32(stack[1]) > maxPrompt*4 {
		setI32(stack, codeTooLarge)
		return
	}
	arg, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	if !ok {
		setI32(stack, codeBadArgument)
		return
	}
	cs.result(mod, stack, "generate", arg, uint32(stack[2]), uint32(stack[3]), func() ([]byte, int32) {
		var g frame.GenerateRequest
		if err := frame.DecodeGenerateRequest(arg, &g); err != nil {
			return nil, codeBadArgument
		}
		if len(g.Prompt) > maxPrompt {
			return nil, codeTooLarge
		}
		ps := make([]store.Passage, len(g.Passages))
		for i, p := range g.Passages {
			ps[i] = store.Passage{ID: p.ID, CharacterID: p.CharacterID, SectionID: p.SectionID, PageNumber: p.PageNumber, Text: p.Text, Score: p.Score}
		}
		text, err := cs.env.Generate(cs.ctx, g.Prompt, ps)
		if errors.Is(err, ErrNoGenerator) {
			return nil, codeUnavailable
		}
		if err != nil {
			return nil, cs.envFailed("generate", err)
		}
		return []byte(sanitize(text)), 0
	})
}

// asString reads an AssemblyScript string (UTF-16LE, byte length at ptr-4).
func asString(mem api.Memory, ptr uint32) string {
	if ptr < 4 {
		return ""
	}
	n, ok := mem.ReadUint32Le(ptr - 4)
	if !ok || n > 4096 {
		n = 0
	}
	b, ok := mem.Read(ptr, n&^1)
	if !ok {
		return ""
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

type abortError struct{ msg string }

func (e abortError) Error() string { return "abort: " + e.msg }

func envAbort(ctx context.Context, mod api.Module, stack []uint64) {
	mem := mod.Memory()
	msg := asString(mem, uint32(stack[0]))
	file := asString(mem, uint32(stack[1]))
	full := fmt.Sprintf("%s (%s:%d:%d)", msg, file, int32(stack[2]), int32(stack[3]))
	if cs := stateOf(ctx); cs != nil {
		cs.inst.abortMsg = full
	}
	panic(abortError{full})
}

func envTrace(ctx context.Context, mod api.Module, stack []uint64) {
	cs := stateOf(ctx)
	if cs == nil {
		return
	}
	s := cs.v.slot
	cs.logs++
	if cs.logs > cs.v.r.cfg.LogLinesPerCall || (s != nil && !s.logLimiter.allow()) {
		if s != nil {
			s.logsDropped.Add(1)
		}
		return
	}
	cs.v.r.log.Debug("actor trace: "+asString(mod.Memory(), uint32(stack[0])), "actor", cs.v.m.Name)
}
