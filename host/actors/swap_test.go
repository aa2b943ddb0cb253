package actors

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// load runs callers against voice until stop is closed and counts what they get.
type load struct {
	sent, answered, failed atomic.Int64
	mu                     sync.Mutex
	byHash                 map[string]int
	seen                   map[string]int // event id -> answers
	firstErr               error
	wg                     sync.WaitGroup
}

func startLoad(r *Runtime, voice string, goroutines int, stop chan struct{}, mk func(g, i int) Call) *load {
	l := &load{byHash: map[string]int{}, seen: map[string]int{}}
	for g := 0; g < goroutines; g++ {
		l.wg.Add(1)
		go func(g int) {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c := mk(g, i)
				l.sent.Add(1)
				res, err := r.Generate(context.Background(), voice, c)
				l.mu.Lock()
				if err != nil {
					l.failed.Add(1)
					if l.firstErr == nil {
						l.firstErr = err
					}
				} else {
					l.answered.Add(1)
					l.byHash[res.Provenance.Hash]++
					l.seen[c.EventID]++
				}
				l.mu.Unlock()
			}
		}(g)
	}
	return l
}

func (l *load) check(t *testing.T, hashes ...string) {
	t.Helper()
	l.wg.Wait()
	sent, answered := l.sent.Load(), l.answered.Load()
	lost := sent - answered
	dup := 0
	for _, n := range l.seen {
		if n > 1 {
			dup += n - 1
		}
	}
	t.Logf("calls sent %d, answered %d, lost %d, duplicated %d, by version %v", sent, answered, lost, dup, shortKeys(l.byHash))
	if l.failed.Load() != 0 || lost != 0 || dup != 0 {
		t.Fatalf("%d calls failed (first: %v), %d lost, %d duplicated", l.failed.Load(), l.firstErr, lost, dup)
	}
	for h := range l.byHash {
		ok := false
		for _, want := range hashes {
			ok = ok || h == want
		}
		if !ok {
			t.Fatalf("a page names hash %s, which is none of the installed versions", short(h))
		}
	}
}

func shortKeys(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[short(k)] = v
	}
	return out
}

func uniqueCall(g, i int) Call {
	c := call("london-fox", 2, "N", "")
	c.EventID = fmt.Sprintf("%08x-0000-4000-8000-%012x", g, i)
	return c
}

// Real Go guests swapped while 6 goroutines call: every call is answered once, by one of the
// two versions, and calls after the last swap are answered by it.
func TestHotSwapUnderLoad(t *testing.T) {
	r := newRuntime(t, Config{})
	pg, pm := plugin(t, "pagegen")
	mis, mm := misbehave(t)
	mm.Name, mm.Voice, mm.Version = "pagegen", "page", "swapped"
	pm, mm = relaxed(pm), relaxed(mm)
	a := install(t, r, pg, pm)
	stop := make(chan struct{})
	l := startLoad(r, "page", 6, stop, uniqueCall)
	var last Info
	for i := 0; i < 12; i++ {
		w, m := mis, mm
		if i%2 == 1 {
			w, m = pg, pm
		}
		last = install(t, r, w, m)
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	l.check(t, a.Hash, Hash(mis))
	res, err := r.Generate(context.Background(), "page", uniqueCall(99, 99))
	if err != nil || res.Provenance.Hash != last.Hash {
		t.Fatalf("after the swaps: %v, hash %s, want %s", err, short(res.Provenance.Hash), short(last.Hash))
	}
	if in, _ := r.Get("pagegen"); in.Previous != 5 {
		t.Errorf("history holds %d versions, want the configured 5", in.Previous)
	}
}

// 1,000 swaps under load with hand-written guests; afterwards goroutines and heap are back
// near their baseline (retired versions are closed once their calls finish).
func TestThousandSwapsUnderLoadReturnToBaseline(t *testing.T) {
	r := newRuntime(t, Config{})
	m1, m2 := tinyManifest("swapper", "swapper", "1"), tinyManifest("swapper", "swapper", "2")
	w1, w2 := tiny{response: tinyPage("v1", "version one")}.wasm(), tiny{response: tinyPage("v2", "version two")}.wasm()
	install(t, r, w1, m1)
	for i := 0; i < 3; i++ { // warm up: the first swaps allocate caches
		install(t, r, w2, m2)
		install(t, r, w1, m1)
	}
	runtime.GC()
	baseG := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapAlloc

	stop := make(chan struct{})
	l := startLoad(r, "swapper", 4, stop, uniqueCall)
	for i := 0; i < 1000; i++ {
		w, m := w2, m2
		if i%2 == 1 {
			w, m = w1, m1
		}
		if _, err := r.Install(context.Background(), w, m); err != nil {
			t.Fatalf("swap %d: %v", i, err)
		}
	}
	close(stop)
	l.check(t, Hash(w1), Hash(w2))

	var g int
	var heap uint64
	eventually(t, "goroutines and heap back near baseline", func() bool {
		runtime.GC()
		g = runtime.NumGoroutine()
		runtime.ReadMemStats(&ms)
		heap = ms.HeapAlloc
		return g <= baseG+5 && heap <= 2*baseHeap+16<<20
	})
	t.Logf("goroutines %d -> %d, heap %d KiB -> %d KiB", baseG, g, baseHeap>>10, heap>>10)
}

func TestRefusedVersionKeepsTheOldAndRollbackRestores(t *testing.T) {
	r := newRuntime(t, Config{})
	pg, pm := plugin(t, "pagegen")
	v1 := install(t, r, pg, pm)

	// a broken new version: refused with the reason, the old one keeps serving
	mis, bad := misbehave(t)
	bad.Name, bad.Voice, bad.Version = "pagegen", "page", "broken"
	bad.SelfTest = []byte(`{"prompt":"panic"}`)
	_, err := r.Install(context.Background(), mis, bad)
	if !errors.Is(err, ErrRefused) || !errors.Is(err, ErrTrap) || !strings.Contains(err.Error(), "misbehave: boom") {
		t.Fatalf("broken version: %v", err)
	}
	if in, _ := r.Get("pagegen"); in.Hash != v1.Hash || in.Version != pm.Version {
		t.Fatalf("after the refusal: %+v", in)
	}
	res, err := r.Generate(context.Background(), "page", call("princhetta", 8, "N", ""))
	if err != nil || res.Provenance.Hash != v1.Hash {
		t.Fatalf("old version not serving: %v", err)
	}
	refs := r.Refusals()
	if len(refs) != 1 || refs[0].Name != "pagegen" || !strings.Contains(refs[0].Reason, "self-test failed") {
		t.Fatalf("refusals %+v", refs)
	}

	// a good new version, then roll back to the first
	good := bad
	good.Version, good.SelfTest = "2", []byte(`{"prompt":"ok"}`)
	v2 := install(t, r, mis, good)
	if res, _ := r.Generate(context.Background(), "page", call("princhetta", 8, "N", "")); res.Provenance.Hash != v2.Hash {
		t.Fatal("v2 not serving")
	}
	back, err := r.Rollback(context.Background(), "pagegen")
	if err != nil || back.Hash != v1.Hash || back.Version != pm.Version || back.Previous != 0 {
		t.Fatalf("rollback: %v %+v", err, back)
	}
	if res, _ := r.Generate(context.Background(), "page", call("princhetta", 8, "N", "")); res.Provenance.Hash != v1.Hash {
		t.Fatal("rolled-back version not serving")
	}
	if _, err := r.Rollback(context.Background(), "pagegen"); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "no previous version") {
		t.Fatalf("second rollback: %v", err)
	}
	if _, err := r.Rollback(context.Background(), "nobody"); !errors.Is(err, ErrNoActor) {
		t.Fatalf("rollback of an unknown actor: %v", err)
	}
	// another actor cannot take a voice that is served
	other := good
	other.Name = "impostor"
	if _, err := r.Install(context.Background(), mis, other); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `already served by actor "pagegen"`) {
		t.Fatalf("voice taken: %v", err)
	}
}

func TestWatchInstallsNewAndChangedPlugins(t *testing.T) {
	dir := t.TempDir()
	r := newRuntime(t, Config{WatchInterval: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx, dir) }()
	defer func() { cancel(); <-done }()

	write := func(name string, wasm []byte, manifest string) {
		// manifest first, then the module (as an author would copy them)
		os.WriteFile(filepath.Join(dir, name+".manifest.json"), []byte(manifest), 0o644)
		os.WriteFile(filepath.Join(dir, name+".wasm.tmp"), wasm, 0o644)
		os.Rename(filepath.Join(dir, name+".wasm.tmp"), filepath.Join(dir, name+".wasm"))
	}
	man := func(version string) string {
		return `{"name":"dropin","version":"` + version + `","voice":"dropin","handles":["page"],"memory_max_pages":64,"deadline_ms":30000,"self_test":{}}`
	}
	w1 := tiny{response: tinyPage("one", "first drop")}.wasm()
	write("dropin", w1, man("1"))
	eventually(t, "the dropped-in plugin to be installed", func() bool { return r.ForVoice("dropin") })
	w2 := tiny{response: tinyPage("two", "second drop")}.wasm()
	write("dropin", w2, man("2"))
	eventually(t, "the changed plugin to be swapped in", func() bool {
		in, _ := r.Get("dropin")
		return in.Hash == Hash(w2)
	})
	res, err := r.Generate(context.Background(), "dropin", call("london-fox", 2, "N", ""))
	if err != nil || res.Text != "second drop" || res.Provenance.Version != "2" {
		t.Fatalf("%v %+v", err, res)
	}
	// a broken drop is refused and recorded; the old version keeps serving
	write("dropin", tiny{abi: 9}.wasm(), man("3"))
	eventually(t, "the broken drop to be refused", func() bool {
		for _, f := range r.Refusals() {
			if strings.Contains(f.Reason, "wrong ABI version") {
				return true
			}
		}
		return false
	})
	if in, _ := r.Get("dropin"); in.Hash != Hash(w2) || in.Previous != 1 {
		t.Fatalf("after the broken drop: %+v", in)
	}
}
