package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/store"
)

// Every failure mode of the issue, each with a guest written for it: the call fails with its
// typed error within its deadline, the instance is discarded, and the runtime keeps serving
// the same actor and the others.
func TestFailureModesAreTypedErrorsAndTheRuntimeCarriesOn(t *testing.T) {
	r := newRuntime(t, Config{})
	mis, m := misbehave(t)
	install(t, r, mis, m)
	loadBuiltinsRelaxed(t, r)
	deadline := time.Duration(m.DeadlineMillis) * time.Millisecond
	cases := []struct {
		mode string
		want []error
		// detail the error must mention
		detail string
	}{
		{"loop", []error{ErrTimeout}, "no answer within 1000 ms"},
		{"recurse", []error{ErrTrap, ErrMemoryLimit, ErrTimeout}, ""}, // Go grows its stack for seconds: the deadline may come first
		{"panic", []error{ErrTrap}, "misbehave: boom"},
		{"trap", []error{ErrTrap}, "out of bounds"},
		{"alloc", []error{ErrMemoryLimit}, "out of memory"},
		{"bigout", []error{ErrOutputTooLarge}, "output_max_bytes is 65536"},
		{"badutf8", []error{ErrBadOutput}, "not valid UTF-8"},
		{"badframe", []error{ErrBadOutput}, "malformed"},
		{"garbage", []error{ErrBadOutput}, "want '{' (JSON) or 0xF7"},
		{"badptr", []error{ErrBadOutput}, "outside memory"},
		{"error", []error{ErrActor}, "misbehave: I refuse"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			before, _ := r.Get("misbehave")
			start := time.Now()
			_, err := r.Generate(context.Background(), "misbehave", call("london-fox", 2, "N", c.mode))
			elapsed := time.Since(start)
			ok := false
			for _, w := range c.want {
				ok = ok || errors.Is(err, w)
			}
			if !ok || !strings.Contains(err.Error(), "misbehave@1") || !strings.Contains(err.Error(), c.detail) {
				t.Fatalf("error = %v, want one of %v naming the actor and mentioning %q", err, c.want, c.detail)
			}
			if elapsed > deadline+10*time.Second {
				t.Errorf("took %v, the deadline is %v", elapsed, deadline)
			}
			after, _ := r.Get("misbehave")
			if after.Errors != before.Errors+1 {
				t.Errorf("errors %d -> %d", before.Errors, after.Errors)
			}
			if c.mode == "loop" && after.Timeouts != before.Timeouts+1 {
				t.Errorf("timeouts %d -> %d", before.Timeouts, after.Timeouts)
			}
			if c.mode != "error" && after.Discarded != before.Discarded+1 {
				t.Errorf("discarded %d -> %d: the instance in doubt was not discarded", before.Discarded, after.Discarded)
			}
			if !strings.Contains(after.LastError, c.detail) {
				t.Errorf("last error %q", after.LastError)
			}
			// the same actor and the others keep serving
			if res, err := r.Generate(context.Background(), "misbehave", call("london-fox", 2, "N", "ok")); err != nil || !strings.HasPrefix(res.Text, "ok london-fox") {
				t.Fatalf("misbehave after %s: %v %q", c.mode, err, res.Text)
			}
			if _, err := r.Generate(context.Background(), "page", call("princhetta", 8, "E", "")); err != nil {
				t.Fatalf("pagegen after %s: %v", c.mode, err)
			}
		})
	}
}

func TestHandWrittenGuestsLoopingAndRecursing(t *testing.T) {
	r := newRuntime(t, Config{})
	// Hand-assembled guests that loop (a wasm loop) or recurse (no loop at all) in every
	// call: their self-test hits the failure, so the install is refused with the typed error.
	for _, c := range []struct {
		body string
		want error
	}{{"loop", ErrTimeout}, {"recurse", ErrTrap}} {
		m := tinyManifest("tiny-"+c.body, "tiny-"+c.body, "1")
		m.DeadlineMillis = 300
		start := time.Now()
		_, err := r.Install(context.Background(), tiny{handleBody: c.body}.wasm(), m)
		if !errors.Is(err, ErrRefused) || !errors.Is(err, c.want) {
			t.Fatalf("%s: %v, want a refusal caused by %v", c.body, err, c.want)
		}
		if c.body == "recurse" && !strings.Contains(err.Error(), "stack overflow") {
			t.Errorf("recurse: %v, want a stack overflow", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: took %v", c.body, d)
		}
	}
}

func TestRequestOver64MiBIsRefusedBeforeTheGuest(t *testing.T) {
	r := newRuntime(t, Config{})
	mis, m := misbehave(t)
	install(t, r, mis, m)
	c := call("london-fox", 2, "N", strings.Repeat("x", 64<<20))
	start := time.Now()
	_, err := r.Generate(context.Background(), "misbehave", c)
	if !errors.Is(err, ErrRequestTooLarge) || !strings.Contains(err.Error(), "misbehave") {
		t.Fatalf("64 MiB request: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if in, _ := r.Get("misbehave"); in.Discarded != 0 || in.Instances != 1 {
		t.Errorf("the guest was touched: %+v", in)
	}
	if _, err := r.Generate(context.Background(), "misbehave", call("london-fox", 2, "N", "ok")); err != nil {
		t.Fatal(err)
	}
}

func TestLogFloodIsRateLimited(t *testing.T) {
	h := &countingHandler{}
	r := newRuntime(t, Config{Logger: slog.New(h), LogLinesPerCall: 10})
	mis, m := misbehave(t)
	install(t, r, mis, m)
	for i := 0; i < 3; i++ {
		if _, err := r.Generate(context.Background(), "misbehave", call("london-fox", 2, "N", "flood")); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.actor.Load(); n < 1 || n > 30 {
		t.Fatalf("%d guest lines reached the log, want between 1 and 30 (10 per call)", n)
	}
	if in, _ := r.Get("misbehave"); in.LogsDropped < 3*100000-30 {
		t.Fatalf("dropped %d lines", in.LogsDropped)
	}
}

func TestManyGoroutinesAtOnce(t *testing.T) {
	r := newRuntime(t, Config{PoolSize: 3})
	mis, m := misbehave(t)
	install(t, r, mis, relaxed(m))
	loadBuiltinsRelaxed(t, r)
	var wg sync.WaitGroup
	var failed atomic.Int64
	var errOnce sync.Once
	var firstErr error
	for g := 0; g < 48; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				c := call("princhetta", 8, []string{"N", "E", "S", "W"}[i%4], "ok")
				c.EventID = fmt.Sprintf("%08d-0000-4000-8000-%012d", g, i)
				voice := "misbehave"
				if i%2 == 1 {
					voice, c.Request.Prompt = "page", ""
				}
				res, err := r.Generate(context.Background(), voice, c)
				if err == nil && voice == "misbehave" && !strings.Contains(res.Text, c.EventID) {
					err = fmt.Errorf("answer for another call: %q", res.Text)
				}
				if err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = err })
				}
			}
		}(g)
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d calls failed, first: %v", failed.Load(), firstErr)
	}
	for _, in := range r.List() {
		if in.Instances > 3 {
			t.Errorf("%s has %d instances, the pool is 3", in.Name, in.Instances)
		}
	}
}

// blockingEnv blocks Retrieve for one session until released, and panics for another.
type blockingEnv struct {
	*MemEnv
	blocked  chan struct{}
	release  chan struct{}
	retrieve atomic.Int64
}

func (e *blockingEnv) Retrieve(ctx context.Context, q RetrieveQuery) ([]store.Passage, error) {
	e.retrieve.Add(1)
	switch q.CharacterID {
	case "blocker":
		e.blocked <- struct{}{}
		<-e.release
	case "panicker":
		panic("the index fell over")
	}
	return e.MemEnv.Retrieve(ctx, q)
}

func TestSwapWhileBlockedInAHostFunction(t *testing.T) {
	env := &blockingEnv{MemEnv: newEnv(), blocked: make(chan struct{}, 1), release: make(chan struct{})}
	r := newRuntime(t, Config{Env: env})
	pg, pm := plugin(t, "pagegen")
	pm = relaxed(pm) // the blocked call waits for a whole install
	old := install(t, r, pg, pm)

	type answer struct {
		res Result
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := r.Generate(context.Background(), "page", call("blocker", 2, "N", ""))
		done <- answer{res, err}
	}()
	<-env.blocked // the call is inside retrieve

	// swap in another module under the same name while it is blocked
	mis, mm := misbehave(t)
	mm.Name, mm.Voice, mm.Version = "pagegen", "page", "2"
	mm = relaxed(mm)
	installed := install(t, r, mis, mm)
	if installed.Hash == old.Hash {
		t.Fatal("same hash")
	}
	res, err := r.Generate(context.Background(), "page", call("princhetta", 8, "N", "ok"))
	if err != nil || res.Provenance.Hash != installed.Hash {
		t.Fatalf("new calls after the swap: %v %+v", err, res.Provenance)
	}
	close(env.release)
	a := <-done
	if a.err != nil || a.res.Provenance.Hash != old.Hash || a.res.Provenance.Version != pm.Version {
		t.Fatalf("the in-flight call: %v, provenance %+v, want the old version %s", a.err, a.res.Provenance, short(old.Hash))
	}
}

func TestHostFunctionPanicFailsTheCallOnly(t *testing.T) {
	env := &blockingEnv{MemEnv: newEnv()}
	r := newRuntime(t, Config{Env: env})
	pg, pm := plugin(t, "pagegen")
	install(t, r, pg, pm)
	_, err := r.Generate(context.Background(), "page", call("panicker", 2, "N", ""))
	if !errors.Is(err, ErrHostFunction) || !strings.Contains(err.Error(), "the index fell over") {
		t.Fatalf("panicking host function: %v", err)
	}
	if _, err := r.Generate(context.Background(), "page", call("princhetta", 8, "N", "")); err != nil {
		t.Fatalf("after the panic: %v", err)
	}
}

func TestInstancesThatGrowAreRecycled(t *testing.T) {
	// A Go guest that leaks 1 MiB per call, with a 32 MiB cap and an 8 MiB recycle threshold:
	// without recycling it would hit its cap within ~30 calls.
	r := newRuntime(t, Config{RecycleMemoryBytes: 8 << 20, PoolSize: 1})
	mis, m := misbehave(t)
	install(t, r, mis, relaxed(m))
	for i := 0; i < 120; i++ {
		if _, err := r.Generate(context.Background(), "misbehave", call("london-fox", 2, "N", "leak")); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if in, _ := r.Get("misbehave"); in.Recycled < 4 || in.Errors != 0 {
		t.Fatalf("recycled %d instances, errors %d", in.Recycled, in.Errors)
	}
}

func TestSlowGrowthOverAMillionCalls(t *testing.T) {
	calls := 1_000_000
	if testing.Short() {
		calls = 100_000
	}
	// A hand-written guest that grows its memory by one page every 100 calls and traps when it
	// cannot: over a million calls it would need 10,000 pages (625 MiB); its cap is 64 pages.
	r := newRuntime(t, Config{RecycleMemoryBytes: 1 << 20, PoolSize: 2})
	m := tinyManifest("grower", "grower", "1")
	install(t, r, tiny{growEvery: 100}.wasm(), m)
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := call("london-fox", 2, "N", "")
			for i := 0; i < calls/2; i++ {
				if _, err := r.Generate(context.Background(), "grower", c); err != nil {
					if failed.Add(1) == 1 {
						t.Errorf("call %d: %v", i, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	in, _ := r.Get("grower")
	t.Logf("%d calls in %v: %d instances recycled, %d errors", calls, time.Since(start).Round(time.Millisecond), in.Recycled, in.Errors)
	if failed.Load() != 0 || in.Errors != 0 {
		t.Fatalf("%d calls failed", failed.Load())
	}
	// each instance starts at 2 pages and is recycled past 16 (1 MiB): ~1,400 calls each
	if min := uint64(calls / 2000); in.Recycled < min {
		t.Fatalf("recycled %d instances, want at least %d", in.Recycled, min)
	}
}

func TestStateRandomAndPendingResults(t *testing.T) {
	env := &blockingEnv{MemEnv: newEnv()}
	r := newRuntime(t, Config{Env: env})
	mis, m := misbehave(t)
	install(t, r, mis, m)
	gen := func(c Call) string {
		t.Helper()
		res, err := r.Generate(context.Background(), "misbehave", c)
		if err != nil {
			t.Fatal(err)
		}
		return res.Text
	}
	// per-session state
	c := call("london-fox", 2, "N", "state")
	for i := 1; i <= 3; i++ {
		if got := gen(c); got != fmt.Sprintf("count %d", i) {
			t.Fatalf("state call %d: %q", i, got)
		}
	}
	other := c
	other.SessionID = "99999999-9999-4999-8999-999999999999"
	if got := gen(other); got != "count 1" {
		t.Fatalf("another session sees %q", got)
	}
	// random: seeded by the event; now: the event's time
	rc := call("london-fox", 2, "N", "random")
	a, b := gen(rc), gen(rc)
	rc2 := rc
	rc2.EventID = "77777777-7777-4777-8777-777777777777"
	if a != b || a == gen(rc2) || !strings.HasSuffix(a, fmt.Sprintf(" now %d", ts0.UnixMilli())) {
		t.Fatalf("random/now: %q %q", a, b)
	}
	// a result that does not fit the guest's buffer is kept, not recomputed
	before := env.retrieve.Load()
	if got := gen(call("princhetta", 8, "N", "smallbuf")); got != "passages princhetta-381,princhetta-382,princhetta-383" {
		t.Fatalf("smallbuf: %q", got)
	}
	if n := env.retrieve.Load() - before; n != 1 {
		t.Fatalf("retrieve ran %d times for one call with a small buffer", n)
	}
}

func TestJSONResponsesAndEncoding(t *testing.T) {
	r := newRuntime(t, Config{})
	m := tinyManifest("jsonvoice", "jsonvoice", "1")
	m.Encoding = "json"
	install(t, r, tiny{response: []byte(`{"title":"J","text":"a page in JSON","sources":[{"passage_id":"p","page_number":3}]}`)}.wasm(), m)
	res, err := r.Generate(context.Background(), "jsonvoice", call("london-fox", 2, "N", ""))
	if err != nil || res.Text != "a page in JSON" || res.Sources[0].PageNumber != 3 {
		t.Fatalf("%v %+v", err, res)
	}
}
