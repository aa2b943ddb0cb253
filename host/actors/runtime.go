// Package actors runs Gibsey's story actors: sandboxed WebAssembly plugins (sdk/ABI.md) under
// wazero. It validates a plugin's manifest, exports and ABI version at load, compiles it with a
// compilation cache, runs its self-test, and swaps it in atomically for its voice (in-flight
// calls finish on the old version; the previous version can be restored). Calls go through a
// bounded pool of instances per actor, one call per instance at a time, each call with a
// deadline, a memory cap, an output cap and a log rate limit; a trap, timeout or bad output is a
// typed error for that call, the instance is discarded, and everything else keeps serving.
//
// The runtime knows no HTTP and no Kafka: the runner calls Generate/Interpret, the admin
// endpoint calls Install/Rollback/List.
package actors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
)

// Config configures a Runtime. Zero values take the defaults noted.
type Config struct {
	// CacheDir holds wazero's file compilation cache, so that a restart does not recompile;
	// empty means an in-memory cache only.
	CacheDir string
	// Env is what host functions reach; nil means an empty MemEnv.
	Env Env
	// Logger receives runtime events and the actors' log lines; nil means slog.Default().
	Logger *slog.Logger
	// PoolSize is the number of instances per actor (calls served at once), default 4.
	PoolSize int
	// MaxRequestBytes caps an encoded request, default 1 MiB.
	MaxRequestBytes int
	// MaxMemoryPages caps every manifest's memory_max_pages, default 4096 (256 MiB).
	MaxMemoryPages int
	// RecycleMemoryBytes: an instance whose memory has grown past this is closed after its
	// call, default 32 MiB (and at most 3/4 of the actor's cap).
	RecycleMemoryBytes int64
	// LogLinesPerCall caps log lines per call, default 32.
	LogLinesPerCall int
	// LogPerSecond and LogBurst rate-limit log lines per actor, default 20/s with bursts of 100.
	LogPerSecond float64
	LogBurst     int
	// History is how many previous versions per actor are kept for Rollback, default 5.
	History int
	// WatchInterval is Watch's polling period, default 500 ms.
	WatchInterval time.Duration
}

func (c *Config) defaults() {
	if c.Env == nil {
		c.Env = &MemEnv{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.PoolSize <= 0 {
		c.PoolSize = 4
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = 1 << 20
	}
	if c.MaxMemoryPages <= 0 {
		c.MaxMemoryPages = 4096
	}
	if c.RecycleMemoryBytes <= 0 {
		c.RecycleMemoryBytes = 32 << 20
	}
	if c.LogLinesPerCall <= 0 {
		c.LogLinesPerCall = 32
	}
	if c.LogPerSecond <= 0 {
		c.LogPerSecond = 20
	}
	if c.LogBurst <= 0 {
		c.LogBurst = 100
	}
	if c.History <= 0 {
		c.History = 5
	}
	if c.WatchInterval <= 0 {
		c.WatchInterval = 500 * time.Millisecond
	}
}

// Runtime holds the installed actors.
type Runtime struct {
	cfg   Config
	log   *slog.Logger
	cache wazero.CompilationCache

	installMu sync.Mutex // serializes Install/Rollback

	mu       sync.Mutex
	actors   map[string]*slot // by name
	voices   map[string]*slot // by voice
	refusals []Refusal
	seen     map[string]string // file -> content hash last tried (LoadDir/Watch)
	closed   bool
}

// Info describes an installed actor (for GET /actors and the CLI).
type Info struct {
	Name          string    `json:"name"`
	Version       string    `json:"version"`
	Voice         string    `json:"voice"`
	Hash          string    `json:"hash"` // sha256 of the .wasm, hex
	Handles       []string  `json:"handles"`
	HostFunctions []string  `json:"host_functions"`
	Source        string    `json:"source"` // the file it came from, or "upload"
	LoadedAt      time.Time `json:"loaded_at"`
	Calls         uint64    `json:"calls"`
	Errors        uint64    `json:"errors"`
	Timeouts      uint64    `json:"timeouts"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorAt   time.Time `json:"last_error_at,omitempty"`
	LogsDropped   uint64    `json:"logs_dropped"`
	Recycled      uint64    `json:"recycled"`  // instances closed for memory growth
	Discarded     uint64    `json:"discarded"` // instances closed after a failure
	Instances     int       `json:"instances"` // live instances of the current version
	Previous      int       `json:"previous"`  // versions Rollback can restore
	MemoryMaxMB   int       `json:"memory_max_mb"`
	DeadlineMS    int       `json:"deadline_ms"`
}

// Refusal records an install that was refused.
type Refusal struct {
	Name   string    `json:"name"`
	Source string    `json:"source"`
	Hash   string    `json:"hash"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// slot is an actor by name: its current version, the versions Rollback can restore, counters.
type slot struct {
	name    string
	cur     atomic.Pointer[version]
	history []archived // guarded by Runtime.mu

	calls, errs, timeouts, logsDropped, recycled, discarded atomic.Uint64

	errMu      sync.Mutex
	lastErr    string
	lastErrAt  time.Time
	logLimiter limiter
}

type archived struct {
	wasm     []byte
	m        Manifest
	hash     string
	source   string
	loadedAt time.Time
}

func (s *slot) noteErr(err error) {
	s.errs.Add(1)
	if errors.Is(err, ErrTimeout) {
		s.timeouts.Add(1)
	}
	s.errMu.Lock()
	s.lastErr = err.Error()
	s.lastErrAt = time.Now().UTC()
	s.errMu.Unlock()
}

// New makes a runtime. Close it when done.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg.defaults()
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("actors: compilation cache in %s: %w", cfg.CacheDir, err)
		}
		cache = c
	} else {
		cache = wazero.NewCompilationCache()
	}
	return &Runtime{
		cfg:    cfg,
		log:    cfg.Logger,
		cache:  cache,
		actors: map[string]*slot{},
		voices: map[string]*slot{},
		seen:   map[string]string{},
	}, nil
}

// Close closes every actor (in-flight calls fail) and the compilation cache.
func (r *Runtime) Close(ctx context.Context) error {
	r.installMu.Lock()
	defer r.installMu.Unlock()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	var vs []*version
	for _, s := range r.actors {
		if v := s.cur.Swap(nil); v != nil {
			vs = append(vs, v)
		}
	}
	r.mu.Unlock()
	for _, v := range vs {
		v.retire()
		v.forceClose()
	}
	return r.cache.Close(ctx)
}

// Hash is the content hash the runtime uses for a module: sha256 of the .wasm, hex.
func Hash(wasm []byte) string {
	h := sha256.Sum256(wasm)
	return hex.EncodeToString(h[:])
}

func refused(m *Manifest, hash, detail string, cause error) error {
	return &CallError{Actor: m.Name, Version: m.Version, Hash: hash, Voice: m.Voice, Kind: ErrRefused, Detail: detail, Cause: cause}
}

// Install validates, compiles, checks and self-tests a module, then swaps it in for its name
// and voice. A refused module changes nothing (the old version keeps serving); the error
// wraps ErrRefused and says why. Installing the version already serving is a no-op.
func (r *Runtime) Install(ctx context.Context, wasm []byte, m Manifest) (Info, error) {
	return r.install(ctx, wasm, m, "upload", true)
}

func (r *Runtime) install(ctx context.Context, wasm []byte, m Manifest, source string, keepOld bool) (Info, error) {
	r.installMu.Lock()
	defer r.installMu.Unlock()
	hash := Hash(wasm)
	info, err := r.installLocked(ctx, wasm, m, hash, source, keepOld)
	if err != nil {
		r.mu.Lock()
		r.refusals = append(r.refusals, Refusal{Name: m.Name, Source: source, Hash: hash, Reason: err.Error(), At: time.Now().UTC()})
		if len(r.refusals) > 50 {
			r.refusals = r.refusals[len(r.refusals)-50:]
		}
		r.mu.Unlock()
		r.log.Warn("actor refused", "actor", m.Name, "version", m.Version, "source", source, "hash", short(hash), "reason", err.Error())
		return Info{}, err
	}
	return info, nil
}

func (r *Runtime) installLocked(ctx context.Context, wasm []byte, m Manifest, hash, source string, keepOld bool) (Info, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return Info{}, refused(&m, hash, "the runtime is closed", ErrClosed)
	}
	if err := m.Validate(); err != nil {
		return Info{}, refused(&m, hash, err.Error(), nil)
	}
	if m.MemoryMaxPages > r.cfg.MaxMemoryPages {
		return Info{}, refused(&m, hash, fmt.Sprintf("manifest: field memory_max_pages: %d is over this host's cap of %d", m.MemoryMaxPages, r.cfg.MaxMemoryPages), nil)
	}
	r.mu.Lock()
	s := r.actors[m.Name]
	if other := r.voices[m.Voice]; other != nil && other.name != m.Name && other.cur.Load() != nil {
		r.mu.Unlock()
		return Info{}, refused(&m, hash, fmt.Sprintf("voice %q is already served by actor %q (one actor per voice: use the name %q to replace it)", m.Voice, other.name, other.name), nil)
	}
	if s != nil {
		if cur := s.cur.Load(); cur != nil && cur.hash == hash && sameManifest(&cur.m, &m) {
			r.mu.Unlock()
			return r.info(s), nil
		}
	}
	r.mu.Unlock()

	start := time.Now()
	v, err := r.newVersion(ctx, wasm, m, hash, source)
	if err != nil {
		return Info{}, err
	}
	compiled := time.Since(start)

	// the self-test, on the new version before anyone else can reach it
	st, _ := m.selfTestRequest()
	env := &selfTestEnv{Env: r.cfg.Env}
	if _, err := v.call(ctx, env, nil, &st); err != nil {
		v.retire()
		v.forceClose()
		return Info{}, refused(&m, hash, "self-test failed: "+err.Error(), err)
	}

	// swap
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		v.retire()
		v.forceClose()
		return Info{}, refused(&m, hash, "the runtime is closed", ErrClosed)
	}
	s = r.actors[m.Name]
	if s == nil {
		s = &slot{name: m.Name}
		s.logLimiter.init(r.cfg.LogPerSecond, r.cfg.LogBurst)
		r.actors[m.Name] = s
	}
	v.slot = s
	old := s.cur.Swap(v)
	if old != nil {
		if old.m.Voice != m.Voice && r.voices[old.m.Voice] == s {
			delete(r.voices, old.m.Voice)
		}
		if keepOld {
			s.history = append(s.history, archived{wasm: old.wasm, m: old.m, hash: old.hash, source: old.source, loadedAt: old.loadedAt})
			if len(s.history) > r.cfg.History {
				s.history = s.history[len(s.history)-r.cfg.History:]
			}
		}
	}
	r.voices[m.Voice] = s
	info := r.infoLocked(s)
	r.mu.Unlock()
	if old != nil {
		old.retire() // closes once its in-flight calls finish
	}
	r.log.Info("actor installed", "actor", m.Name, "version", m.Version, "voice", m.Voice, "hash", short(hash), "source", source, "ready_in", time.Since(start).Round(time.Millisecond), "compile", compiled.Round(time.Millisecond))
	return info, nil
}

func sameManifest(a, b *Manifest) bool {
	return a.Name == b.Name && a.Version == b.Version && a.Voice == b.Voice &&
		strings.Join(a.Handles, ",") == strings.Join(b.Handles, ",") &&
		strings.Join(a.HostFunctions, ",") == strings.Join(b.HostFunctions, ",") &&
		a.Encoding == b.Encoding && a.MemoryMaxPages == b.MemoryMaxPages &&
		a.DeadlineMillis == b.DeadlineMillis && a.OutputMaxBytes == b.OutputMaxBytes &&
		string(a.SelfTest) == string(b.SelfTest)
}

// Rollback restores the previous version of the named actor (running its self-test again).
// The version it replaces is dropped, so rolling back twice goes two versions back.
func (r *Runtime) Rollback(ctx context.Context, name string) (Info, error) {
	r.mu.Lock()
	s := r.actors[name]
	if s == nil {
		r.mu.Unlock()
		return Info{}, &CallError{Actor: name, Kind: ErrNoActor, Detail: "no actor of that name"}
	}
	if len(s.history) == 0 {
		r.mu.Unlock()
		return Info{}, &CallError{Actor: name, Kind: ErrRefused, Detail: "no previous version to roll back to"}
	}
	prev := s.history[len(s.history)-1]
	r.mu.Unlock()
	info, err := r.install(ctx, prev.wasm, prev.m, prev.source, false)
	if err != nil {
		return Info{}, err
	}
	r.mu.Lock()
	// drop the restored entry (it is current now)
	for i := len(s.history) - 1; i >= 0; i-- {
		if s.history[i].hash == prev.hash && sameManifest(&s.history[i].m, &prev.m) {
			s.history = append(s.history[:i], s.history[i+1:]...)
			break
		}
	}
	info = r.infoLocked(s)
	r.mu.Unlock()
	r.log.Info("actor rolled back", "actor", name, "version", info.Version, "hash", short(info.Hash))
	return info, nil
}

// List describes the installed actors, by name.
func (r *Runtime) List() []Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Info
	for _, s := range r.actors {
		if s.cur.Load() == nil {
			continue
		}
		out = append(out, r.infoLocked(s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get describes one actor by name.
func (r *Runtime) Get(name string) (Info, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.actors[name]
	if s == nil || s.cur.Load() == nil {
		return Info{}, false
	}
	return r.infoLocked(s), true
}

// Refusals lists the most recent refused installs (at most 50), oldest first.
func (r *Runtime) Refusals() []Refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Refusal(nil), r.refusals...)
}

// ForVoice reports whether an actor serves the voice.
func (r *Runtime) ForVoice(voice string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.voices[voice]
	return s != nil && s.cur.Load() != nil
}

// Voices lists the voices served, sorted.
func (r *Runtime) Voices() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for v, s := range r.voices {
		if s.cur.Load() != nil {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func (r *Runtime) info(s *slot) Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.infoLocked(s)
}

func (r *Runtime) infoLocked(s *slot) Info {
	v := s.cur.Load()
	in := Info{Name: s.name, Previous: len(s.history)}
	if v != nil {
		in.Version, in.Voice, in.Hash = v.m.Version, v.m.Voice, v.hash
		in.Handles = append([]string(nil), v.m.Handles...)
		in.HostFunctions = append([]string(nil), v.m.HostFunctions...)
		in.Source, in.LoadedAt = v.source, v.loadedAt
		in.Instances = v.liveInstances()
		in.MemoryMaxMB = v.m.MemoryMaxPages / 16
		in.DeadlineMS = v.m.DeadlineMillis
	}
	in.Calls, in.Errors, in.Timeouts = s.calls.Load(), s.errs.Load(), s.timeouts.Load()
	in.LogsDropped, in.Recycled, in.Discarded = s.logsDropped.Load(), s.recycled.Load(), s.discarded.Load()
	s.errMu.Lock()
	in.LastError, in.LastErrorAt = s.lastErr, s.lastErrAt
	s.errMu.Unlock()
	return in
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// LoadDir installs every NAME.wasm with its NAME.manifest.json in dir (files whose content
// did not change since the last look are skipped). It returns the refusals joined; each is
// also recorded (Refusals) and the other actors load regardless.
func (r *Runtime) LoadDir(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("actors: plugins folder: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".wasm") {
			continue
		}
		base := strings.TrimSuffix(name, ".wasm")
		wasmPath := filepath.Join(dir, name)
		manPath := filepath.Join(dir, base+".manifest.json")
		wasm, err := os.ReadFile(wasmPath)
		if err != nil {
			errs = append(errs, fmt.Errorf("actors: %s: %w", wasmPath, err))
			continue
		}
		man, err := os.ReadFile(manPath)
		if err != nil {
			key := wasmPath
			h := "missing-manifest:" + Hash(wasm)
			if r.markSeen(key, h) {
				err := fmt.Errorf("actors: %s has no manifest %s: %w", wasmPath, filepath.Base(manPath), ErrRefused)
				r.recordRefusal(base, wasmPath, Hash(wasm), err.Error())
				errs = append(errs, err)
			}
			continue
		}
		content := Hash(wasm) + ":" + Hash(man)
		if !r.markSeen(wasmPath, content) {
			continue
		}
		m, err := ParseManifest(man)
		if err != nil {
			err = refused(&m, Hash(wasm), fmt.Sprintf("%s: %v", manPath, err), nil)
			r.recordRefusal(m.Name, wasmPath, Hash(wasm), err.Error())
			errs = append(errs, err)
			continue
		}
		if m.Name != base {
			err := refused(&m, Hash(wasm), fmt.Sprintf("%s: manifest name %q does not match the file name %q", manPath, m.Name, base), nil)
			r.recordRefusal(m.Name, wasmPath, Hash(wasm), err.Error())
			errs = append(errs, err)
			continue
		}
		if _, err := r.install(ctx, wasm, m, wasmPath, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// markSeen records the content hash of a file and reports whether it changed.
func (r *Runtime) markSeen(file, content string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[file] == content {
		return false
	}
	r.seen[file] = content
	return true
}

func (r *Runtime) recordRefusal(name, source, hash, reason string) {
	r.mu.Lock()
	r.refusals = append(r.refusals, Refusal{Name: name, Source: source, Hash: hash, Reason: reason, At: time.Now().UTC()})
	if len(r.refusals) > 50 {
		r.refusals = r.refusals[len(r.refusals)-50:]
	}
	r.mu.Unlock()
	r.log.Warn("actor refused", "actor", name, "source", source, "reason", reason)
}

// Watch polls dir every WatchInterval and installs new or changed plugins (by content hash),
// until ctx is done. Refusals are logged and recorded; the old versions keep serving.
func (r *Runtime) Watch(ctx context.Context, dir string) error {
	t := time.NewTicker(r.cfg.WatchInterval)
	defer t.Stop()
	for {
		_ = r.LoadDir(ctx, dir) // refusals are recorded and logged by LoadDir
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// limiter is a token bucket.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func (l *limiter) init(rate float64, burst int) {
	l.rate, l.burst, l.tokens = rate, float64(burst), float64(burst)
}

func (l *limiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() {
		l.tokens += now.Sub(l.last).Seconds() * l.rate
		if l.tokens > l.burst {
			l.tokens = l.burst
		}
	}
	l.last = now
	if l.tokens >= 1 {
		l.tokens--
		return true
	}
	return false
}
