package actors

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/sdk/frame"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// version is one installed module of an actor: its own wazero runtime (so that its memory
// cap is its own and closing it frees everything), its compiled module and its pool.
type version struct {
	r        *Runtime
	slot     *slot // set at swap; nil during the self-test
	m        Manifest
	hash     string
	wasm     []byte
	source   string
	loadedAt time.Time

	rt      wazero.Runtime
	cm      wazero.CompiledModule
	idle    chan *instance
	sem     chan struct{}
	recycle uint64 // bytes

	mu       sync.Mutex
	inflight int
	retired  bool
	closed   bool
	live     int
}

// instance is one instantiated module; it serves one call at a time.
type instance struct {
	mod           api.Module
	mem           api.Memory
	alloc, handle api.Function
	out           *tail
	wallNanos     atomic.Int64
	abortMsg      string
}

func (r *Runtime) newVersion(ctx context.Context, wasm []byte, m Manifest, hash, source string) (*version, error) {
	cfg := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(uint32(m.MemoryMaxPages)).
		WithCompilationCache(r.cache)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	fail := func(detail string, cause error) (*version, error) {
		rt.Close(context.Background())
		return nil, refused(&m, hash, detail, cause)
	}
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return fail("not a valid WebAssembly module: "+err.Error(), err)
	}
	if err := checkModule(cm, &m); err != nil {
		return fail(err.Error(), nil)
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return fail("wasi: "+err.Error(), err)
	}
	if err := instantiateHost(ctx, rt); err != nil {
		return fail("host functions: "+err.Error(), err)
	}
	v := &version{
		r: r, m: m, hash: hash, wasm: wasm, source: source, loadedAt: time.Now().UTC(),
		rt: rt, cm: cm,
		idle: make(chan *instance, r.cfg.PoolSize),
		sem:  make(chan struct{}, r.cfg.PoolSize),
	}
	v.recycle = uint64(r.cfg.RecycleMemoryBytes)
	if c := uint64(m.MemoryMaxPages) * 65536 * 3 / 4; c < v.recycle {
		v.recycle = c
	}
	inst, err := v.newInstance(ctx)
	if err != nil {
		return fail("instantiate: "+err.Error(), err)
	}
	abi, ok := firstResult(inst.mod.ExportedFunction("gibsey_abi_version").Call(ctx))
	if !ok {
		inst.mod.Close(context.Background())
		return fail("gibsey_abi_version trapped", nil)
	}
	if int32(abi) != 0 {
		inst.mod.Close(context.Background())
		return fail(fmt.Sprintf("wrong ABI version: the module speaks ABI %d, this host speaks ABI 0 (sdk/ABI.md)", int32(abi)), nil)
	}
	v.live = 1
	v.idle <- inst
	return v, nil
}

func firstResult(res []uint64, err error) (uint64, bool) {
	if err != nil || len(res) != 1 {
		return 0, false
	}
	return res[0], true
}

// checkModule checks a compiled module's exports and imports against the ABI and manifest.
func checkModule(cm wazero.CompiledModule, m *Manifest) error {
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	want := []struct {
		name            string
		params, results []api.ValueType
	}{
		{"gibsey_abi_version", nil, []api.ValueType{i32}},
		{"alloc", []api.ValueType{i32}, []api.ValueType{i32}},
		{"handle", []api.ValueType{i32, i32}, []api.ValueType{i64}},
	}
	exports := cm.ExportedFunctions()
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		return errors.New("missing export memory (sdk/ABI.md section 1)")
	}
	for _, w := range want {
		f, ok := exports[w.name]
		if !ok {
			return fmt.Errorf("missing export %s (sdk/ABI.md section 1)", w.name)
		}
		if !sameTypes(f.ParamTypes(), w.params) || !sameTypes(f.ResultTypes(), w.results) {
			return fmt.Errorf("export %s has signature %s, want %s", w.name, sig(f.ParamTypes(), f.ResultTypes()), sig(w.params, w.results))
		}
	}
	if f, ok := exports["_initialize"]; ok && (len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0) {
		return fmt.Errorf("export _initialize has signature %s, want () -> ()", sig(f.ParamTypes(), f.ResultTypes()))
	}
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case "wasi_snapshot_preview1":
		case "gibsey":
			known := false
			for _, h := range HostFunctions {
				known = known || h == name
			}
			if !known {
				return fmt.Errorf("imports unknown host function gibsey.%s (known: %v)", name, HostFunctions)
			}
			if !m.Allows(name) {
				return fmt.Errorf("imports host function gibsey.%s, which the manifest's host_functions %v does not list", name, m.HostFunctions)
			}
		case "env":
			if name != "abort" && name != "seed" && name != "trace" {
				return fmt.Errorf("imports env.%s: only env.abort, env.seed and env.trace are provided", name)
			}
		default:
			return fmt.Errorf("imports %s.%s: only modules gibsey, wasi_snapshot_preview1 and env are provided", mod, name)
		}
	}
	for _, mem := range cm.ImportedMemories() {
		mod, name, _ := mem.Import()
		return fmt.Errorf("imports memory %s.%s: the module must define and export its own memory", mod, name)
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool { return bytes.Equal(a, b) }

func sig(p, r []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		var s []string
		for _, t := range ts {
			s = append(s, api.ValueTypeName(t))
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return names(p) + " -> " + names(r)
}

var wasiSeed = [32]byte{'g', 'i', 'b', 's', 'e', 'y'}

func (v *version) newInstance(ctx context.Context) (*instance, error) {
	inst := &instance{out: &tail{max: 4096}}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithStdout(inst.out).
		WithStderr(inst.out).
		WithWalltime(func() (int64, int32) {
			ns := inst.wallNanos.Load()
			return ns / 1e9, int32(ns % 1e9)
		}, 1).
		WithRandSource(rand.NewChaCha8(wasiSeed))
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	mod, err := v.rt.InstantiateModule(ictx, v.cm, cfg)
	if err != nil {
		return nil, err
	}
	inst.mod = mod
	inst.mem = mod.Memory()
	inst.alloc = mod.ExportedFunction("alloc")
	inst.handle = mod.ExportedFunction("handle")
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if _, err := init.Call(ictx); err != nil {
			mod.Close(context.Background())
			return nil, fmt.Errorf("_initialize: %v%s", err, inst.out.suffix())
		}
	}
	return inst, nil
}

// acquire registers an in-flight call; false when the version is already closed.
func (v *version) acquire() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return false
	}
	v.inflight++
	return true
}

func (v *version) release() {
	v.mu.Lock()
	v.inflight--
	done := v.retired && v.inflight == 0 && !v.closed
	if done {
		v.closed = true
	}
	v.mu.Unlock()
	if done {
		v.closeRuntime()
	}
}

// retire marks the version replaced: it closes as soon as no call is in flight.
func (v *version) retire() {
	v.mu.Lock()
	v.retired = true
	done := v.inflight == 0 && !v.closed
	if done {
		v.closed = true
	}
	v.mu.Unlock()
	if done {
		v.closeRuntime()
	}
}

// forceClose closes the version even with calls in flight (they fail).
func (v *version) forceClose() {
	v.mu.Lock()
	already := v.closed
	v.closed = true
	v.mu.Unlock()
	if !already {
		v.closeRuntime()
	}
}

func (v *version) closeRuntime() {
	for {
		select {
		case inst := <-v.idle:
			inst.mod.Close(context.Background())
			continue
		default:
		}
		break
	}
	v.rt.Close(context.Background())
}

func (v *version) liveInstances() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.live
}

// get returns an idle instance or makes one; the caller holds a sem slot.
func (v *version) get(ctx context.Context) (*instance, error) {
	select {
	case inst := <-v.idle:
		return inst, nil
	default:
	}
	inst, err := v.newInstance(ctx)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	v.live++
	v.mu.Unlock()
	return inst, nil
}

// put returns an instance to the pool, or closes it (discard after a failure, or recycle when
// its memory has grown past the threshold).
func (v *version) put(inst *instance, discard bool) {
	recycle := !discard && uint64(inst.mem.Size()) > v.recycle
	if discard || recycle {
		inst.mod.Close(context.Background())
		v.mu.Lock()
		v.live--
		v.mu.Unlock()
		if v.slot != nil {
			if discard {
				v.slot.discarded.Add(1)
			} else {
				v.slot.recycled.Add(1)
			}
		}
		return
	}
	select {
	case v.idle <- inst:
	default: // cannot happen (at most PoolSize instances), but never block
		inst.mod.Close(context.Background())
		v.mu.Lock()
		v.live--
		v.mu.Unlock()
	}
}

// callState is what host functions see of the current call (through the context).
type callState struct {
	v       *version
	inst    *instance
	env     Env
	ctx     context.Context // the call's context: its deadline and the caller's cancellation
	wasmCtx context.Context // the same values without cancellation, for calls into the guest
	req     *frame.Request
	rng     *rand.ChaCha8
	logs    int
	pending struct {
		fn     string
		arg    []byte
		result []byte
	}
	hostFailure string // a host function panicked or the Env failed
}

type callKey struct{}

func (v *version) errorf(kind error, cause error, format string, args ...any) *CallError {
	return &CallError{Actor: v.m.Name, Version: v.m.Version, Hash: v.hash, Voice: v.m.Voice, Kind: kind, Detail: fmt.Sprintf(format, args...), Cause: cause}
}

// call runs one request on this version. slot counters are the caller's business.
func (v *version) call(ctx context.Context, env Env, enc *frame.Encoder, req *frame.Request) (*frame.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("actor %s: call not started: %w", v.m.Name, err)
	}
	// encode the request
	var reqBytes []byte
	if est := requestSize(req); est > v.r.cfg.MaxRequestBytes {
		return nil, v.errorf(ErrRequestTooLarge, nil, "request is about %d bytes, the cap is %d", est, v.r.cfg.MaxRequestBytes)
	}
	if v.m.Encoding == "json" {
		b, err := json.Marshal(req)
		if err != nil {
			return nil, v.errorf(ErrBadOutput, err, "encoding the request: %v", err)
		}
		reqBytes = b
	} else {
		if enc == nil {
			enc = &frame.Encoder{}
		}
		enc.Reset()
		enc.AppendRequest(req)
		reqBytes = enc.Bytes()
	}
	if len(reqBytes) > v.r.cfg.MaxRequestBytes {
		return nil, v.errorf(ErrRequestTooLarge, nil, "request is %d bytes, the cap is %d", len(reqBytes), v.r.cfg.MaxRequestBytes)
	}

	// a pool slot, then an instance
	select {
	case v.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("actor %s: waiting for an instance: %w", v.m.Name, ctx.Err())
	}
	defer func() { <-v.sem }()
	inst, err := v.get(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("actor %s: instantiating: %w", v.m.Name, ctx.Err())
		}
		return nil, v.errorf(ErrTrap, err, "instantiating: %v", err)
	}

	deadline := time.Duration(v.m.DeadlineMillis) * time.Millisecond
	cctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	seed := sha256.Sum256([]byte(req.EventID + "\x00" + v.m.Name))
	cs := &callState{v: v, inst: inst, env: env, req: req, rng: rand.NewChaCha8(seed)}
	cs.ctx = context.WithValue(cctx, callKey{}, cs)
	inst.wallNanos.Store(req.TSMillis * 1e6)
	inst.out.reset()
	inst.abortMsg = ""

	// The deadline and the caller's cancellation stop the guest by closing its module (the
	// compiled code checks at every loop header: close-on-context-done). We close it from one
	// timer rather than handing wazero a cancellable context, which would cost a watcher
	// goroutine for each of the two calls into the guest.
	cs.wasmCtx = context.WithoutCancel(cs.ctx)
	timer := time.AfterFunc(deadline, func() { inst.mod.CloseWithExitCode(context.Background(), sys.ExitCodeDeadlineExceeded) })
	stopCancel := context.AfterFunc(ctx, func() { inst.mod.CloseWithExitCode(context.Background(), sys.ExitCodeContextCanceled) })
	resp, discard, err := v.run(cs, inst, reqBytes)
	if !timer.Stop() || !stopCancel() {
		// the module is closed, or about to be: an answer that made it out is kept, the
		// instance is not
		discard = true
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrActor) {
		// the caller gave up (not the actor's deadline): the instance was closed by wazero
		v.put(inst, true)
		return nil, fmt.Errorf("actor %s: call cancelled: %w", v.m.Name, ctx.Err())
	}
	v.put(inst, discard)
	if cs.hostFailure != "" && (err == nil || errors.Is(err, ErrActor)) {
		// the guest answered, but without what the host failed to give it
		return nil, v.errorf(ErrHostFunction, nil, "%s", cs.hostFailure)
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// run calls alloc and handle and reads the response. discard says the instance's state is in
// doubt.
func (v *version) run(cs *callState, inst *instance, reqBytes []byte) (*frame.Response, bool, error) {
	ctx := cs.wasmCtx
	res, err := inst.alloc.Call(ctx, uint64(len(reqBytes)))
	if err != nil {
		return nil, true, v.classify(cs, inst, "alloc", err)
	}
	ptr := uint32(res[0])
	if !inst.mem.Write(ptr, reqBytes) {
		return nil, true, v.errorf(ErrBadOutput, nil, "alloc(%d) returned %#x, outside memory (%d bytes)", len(reqBytes), ptr, inst.mem.Size())
	}
	res, err = inst.handle.Call(ctx, uint64(ptr), uint64(len(reqBytes)))
	if err != nil {
		return nil, true, v.classify(cs, inst, "handle", err)
	}
	rptr, rlen := uint32(res[0]>>32), uint32(res[0])
	if int(rlen) > v.m.OutputMaxBytes {
		return nil, true, v.errorf(ErrOutputTooLarge, nil, "response is %d bytes, the manifest's output_max_bytes is %d", rlen, v.m.OutputMaxBytes)
	}
	if rlen == 0 {
		return nil, true, v.errorf(ErrBadOutput, nil, "empty response")
	}
	raw, ok := inst.mem.Read(rptr, rlen)
	if !ok {
		return nil, true, v.errorf(ErrBadOutput, nil, "response [%#x, +%d) is outside memory (%d bytes)", rptr, rlen, inst.mem.Size())
	}
	var resp frame.Response
	switch raw[0] {
	case '{':
		if err := json.Unmarshal(raw, &resp); err != nil {
			return nil, true, v.errorf(ErrBadOutput, err, "response is not valid JSON: %v", err)
		}
	case frame.Magic:
		if err := frame.DecodeResponse(raw, &resp); err != nil {
			return nil, true, v.errorf(ErrBadOutput, err, "%v", err)
		}
	default:
		return nil, true, v.errorf(ErrBadOutput, nil, "response starts with byte %#02x, want '{' (JSON) or 0xF7 (frame)", raw[0])
	}
	if resp.Error != "" {
		return nil, false, v.errorf(ErrActor, nil, "%s", clip(sanitize(resp.Error), 500))
	}
	if err := v.checkResponse(cs.req.Kind, &resp); err != nil {
		return nil, true, err
	}
	return &resp, false, nil
}

func (v *version) checkResponse(kind string, r *frame.Response) error {
	bad := func(format string, args ...any) error { return v.errorf(ErrBadOutput, nil, format, args...) }
	strs := []struct{ name, s string }{{"title", r.Title}, {"text", r.Text}, {"meaning", r.Meaning}, {"generator", r.Generator}}
	for _, s := range strs {
		if !utf8.ValidString(s.s) {
			return bad("%s is not valid UTF-8", s.name)
		}
	}
	for i, s := range r.Sources {
		for _, f := range []string{s.PassageID, s.CharacterID, s.Excerpt, s.Generated} {
			if !utf8.ValidString(f) {
				return bad("sources[%d] is not valid UTF-8", i)
			}
		}
	}
	switch kind {
	case KindPage:
		if strings.TrimSpace(r.Text) == "" {
			return bad("the page has no text")
		}
		if len(r.Text) > event.MaxTextBytes {
			return v.errorf(ErrOutputTooLarge, nil, "text is %d bytes, a page holds at most %d", len(r.Text), event.MaxTextBytes)
		}
	case KindInterpret:
		if strings.TrimSpace(r.Meaning) == "" {
			return bad("no meaning in the answer")
		}
	}
	return nil
}

// classify turns an error from calling into the guest into a typed error.
func (v *version) classify(cs *callState, inst *instance, fn string, err error) error {
	out := inst.out.String()
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		switch ee.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return v.errorf(ErrTimeout, nil, "no answer within %d ms", v.m.DeadlineMillis)
		case sys.ExitCodeContextCanceled:
			return v.errorf(ErrTimeout, context.Canceled, "cancelled")
		}
		if oom(out) {
			return v.errorf(ErrMemoryLimit, nil, "out of memory (cap %d MiB)%s", v.m.MemoryMaxPages/16, tailOf(out))
		}
		return v.errorf(ErrTrap, err, "%s exited with code %d%s", fn, ee.ExitCode(), tailOf(out))
	}
	if inst.abortMsg != "" {
		if oom(inst.abortMsg) {
			return v.errorf(ErrMemoryLimit, nil, "abort: %s", inst.abortMsg)
		}
		return v.errorf(ErrTrap, nil, "abort: %s", inst.abortMsg)
	}
	if oom(out) {
		return v.errorf(ErrMemoryLimit, nil, "out of memory (cap %d MiB)%s", v.m.MemoryMaxPages/16, tailOf(out))
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nwasm stack trace"); i > 0 {
		msg = msg[:i]
	}
	return v.errorf(ErrTrap, err, "%s: %s%s", fn, msg, tailOf(out))
}

func oom(s string) bool { return strings.Contains(s, "out of memory") }

// tailOf summarizes the guest's output for an error: the lines a crashing runtime starts with
// (Go's "panic:", "fatal error:", "runtime:"), else the last few hundred bytes.
func tailOf(out string) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return ""
	}
	var key []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") || strings.HasPrefix(line, "runtime: ") {
			key = append(key, clip(line, 200))
			if len(key) == 3 {
				break
			}
		}
	}
	if len(key) > 0 {
		out = strings.Join(key, "; ")
	} else if len(out) > 600 {
		out = "…" + out[len(out)-600:]
	}
	return " (guest output: " + sanitize(out) + ")"
}

func sanitize(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func requestSize(r *frame.Request) int {
	n := 512 + len(r.Prompt) + len(r.ParentText) + len(r.Meaning) + len(r.EventID) + len(r.SessionID) +
		len(r.CharacterID) + len(r.SymbolID) + len(r.Voice) + len(r.RequestID) + len(r.CauseEventID) + len(r.CauseType) + len(r.ParentPageID)
	for _, s := range r.Symbols {
		n += len(s) + 4
	}
	for _, p := range r.RecentPages {
		n += len(p.PageID) + len(p.CharacterID) + len(p.Title) + len(p.Text) + 16
	}
	return n
}

// tail keeps the last max bytes written (the guest's stdout/stderr).
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func (t *tail) reset() {
	t.mu.Lock()
	t.buf = t.buf[:0]
	t.mu.Unlock()
}

func (t *tail) suffix() string { return tailOf(t.String()) }
