package benchcmp

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/gibsey/gibsey/sdk/frame"
)

// Sampling: every cell is sampled rounds times, interleaved (round 1 of every cell, then round
// 2, ...) so that a burst of noise on the shared machine spreads over all cells; each sample
// runs the call enough times to last about sampleTime; the table shows the median.
const (
	rounds     = 7
	sampleTime = 20 * time.Millisecond
)

var compareOnce sync.Once

// BenchmarkCompare prints the side-by-side tables (it runs once, whatever b.N is):
//
//	go test -run '^$' -bench Compare ./host/internal/benchcmp
func BenchmarkCompare(b *testing.B) {
	compareOnce.Do(func() {
		vs, mods := setup(b)
		b.ResetTimer()
		for _, codecOnly := range []bool{true, false} {
			if err := compareCalls(os.Stdout, vs, codecOnly); err != nil {
				b.Fatal(err)
			}
		}
		if err := compareStartup(os.Stdout, mods); err != nil {
			b.Fatal(err)
		}
	})
}

// timeIt returns the time per call of n calls of f.
func timeIt(n int, f func() error) (time.Duration, error) {
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := f(); err != nil {
			return 0, err
		}
	}
	return time.Since(start) / time.Duration(n), nil
}

// calibrate returns how many calls of f make one sample of about sampleTime.
func calibrate(f func() error) (int, error) {
	n := 1
	for {
		d, err := timeIt(n, f)
		if err != nil {
			return 0, err
		}
		total := d * time.Duration(n)
		if total >= sampleTime/4 || n >= 1<<24 {
			k := int(sampleTime / max(d, 1))
			return max(k, 1), nil
		}
		n *= 4
	}
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

type cell struct {
	v       variant
	size    int
	r       *frame.Request
	req     []byte
	n       int
	samples []time.Duration
}

func compareCalls(w io.Writer, vs []variant, codecOnly bool) error {
	sizes := []int{1 << 10, 64 << 10}
	var cells []*cell
	for _, size := range sizes {
		r := Request(size, codecOnly)
		reqs := map[string][]byte{"frame": EncodeFrame(r), "json": EncodeJSON(r), "raw": EncodeFrame(r)}
		for _, v := range vs {
			c := &cell{v: v, size: size, r: r, req: reqs[v.enc]}
			n, err := calibrate(c.call)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			c.n = n
			cells = append(cells, c)
		}
	}
	for round := 0; round < rounds; round++ {
		for _, c := range cells {
			d, err := timeIt(c.n, c.call)
			if err != nil {
				return fmt.Errorf("%s: %w", c.v.name, err)
			}
			c.samples = append(c.samples, d)
		}
	}
	med := map[string]map[int]time.Duration{}
	for _, c := range cells {
		if med[c.v.name] == nil {
			med[c.v.name] = map[int]time.Duration{}
		}
		med[c.v.name][c.size] = median(c.samples)
	}
	if codecOnly {
		fmt.Fprintf(w, "\nActor call, CODEC ONLY (what the ≤5× target is about): decode a page request, answer with its parent_text as the page, encode the response.\n")
	} else {
		fmt.Fprintf(w, "\nActor call WITH WORK: decode a page request, count the words of its parent_text and upper-case it (a per-byte loop), encode the page.\n")
	}
	fmt.Fprintf(w, "Medians of %d interleaved samples. Both ratios divide by native Go doing the same job in one process:\n", rounds)
	fmt.Fprintf(w, "  ×frame = ÷ %q (the fast native baseline), ×json = ÷ %q (the naive baseline the issue names).\n", nameNativeFrame, nameNativeJSON)
	fmt.Fprintf(w, "wasm rows: wazero compiler, close-on-context-done on (as the host runs actors), one warm instance, request copied in, response copied out.\n\n")
	fmt.Fprintf(w, "%-46s %10s %8s %8s %11s %8s %8s\n", "variant", "1 KB", "×frame", "×json", "64 KB", "×frame", "×json")
	fmt.Fprintf(w, "%s\n", strings.Repeat("-", 46+10+8+8+11+8+8+6))
	for _, v := range vs {
		fmt.Fprintf(w, "%-46s", v.name)
		for i, size := range sizes {
			d := med[v.name][size]
			width := 10
			if i > 0 {
				width = 11
			}
			fmt.Fprintf(w, " %*s %7.1f× %7.1f×", width, fmtDur(d), float64(d)/float64(med[nameNativeFrame][size]), float64(d)/float64(med[nameNativeJSON][size]))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "* not how the host runs actors: without close-on-context-done a looping guest cannot be stopped.\n")
	fmt.Fprintln(w)
	return nil
}

func (c *cell) call() error {
	if c.v.gen != nil {
		_, _, err := c.v.gen(c.r)
		return err
	}
	_, err := c.v.call(c.req)
	return err
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f µs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// compareStartup measures, per module: compile without a cache (a fresh runtime), compile
// from wazero's file compilation cache (a fresh runtime and cache object over a warm cache
// folder, as after a restart), and instantiate (+ _initialize) from a compiled module.
func compareStartup(w io.Writer, mods []module) error {
	ctx := context.Background()
	fmt.Fprintf(w, "Startup: medians; compile with cache = a fresh runtime reading a warm wazero file cache (as after a restart).\n\n")
	fmt.Fprintf(w, "%-36s %9s %14s %14s %14s\n", "module", "size", "compile", "compile+cache", "instantiate")
	fmt.Fprintf(w, "%s\n", strings.Repeat("-", 36+9+14+14+14+4))
	for _, m := range mods {
		heavy := len(m.wasm) > 1<<20
		nCompile, nInst := 9, 101
		if heavy {
			nCompile, nInst = 3, 15
		}
		cacheDir, err := os.MkdirTemp("", "benchcmp-cache-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(cacheDir)
		var cold, warm, inst []time.Duration
		if m.extism {
			cold, warm, inst, err = startupExtism(ctx, m.wasm, cacheDir, nCompile, nInst)
		} else {
			cold, warm, inst, err = startupRaw(ctx, m.wasm, cacheDir, nCompile, nInst)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		fmt.Fprintf(w, "%-36s %9s %14s %14s %14s\n", m.name, fmtSize(len(m.wasm)), fmtDur(median(cold)), fmtDur(median(warm)), fmtDur(median(inst)))
	}
	fmt.Fprintln(w)
	return nil
}

func fmtSize(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

func startupRaw(ctx context.Context, wasm []byte, cacheDir string, nCompile, nInst int) (cold, warm, inst []time.Duration, err error) {
	compileOnce := func(cache wazero.CompilationCache) (time.Duration, error) {
		rt, err := NewRuntime(ctx, cache)
		if err != nil {
			return 0, err
		}
		defer rt.Close(ctx)
		start := time.Now()
		if _, err := rt.CompileModule(ctx, wasm); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	for i := 0; i < nCompile; i++ {
		d, err := compileOnce(nil)
		if err != nil {
			return nil, nil, nil, err
		}
		cold = append(cold, d)
	}
	newCache := func() (wazero.CompilationCache, error) { return wazero.NewCompilationCacheWithDir(cacheDir) }
	c, err := newCache()
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := compileOnce(c); err != nil { // warm the folder
		return nil, nil, nil, err
	}
	c.Close(ctx)
	for i := 0; i < nCompile; i++ {
		c, err := newCache()
		if err != nil {
			return nil, nil, nil, err
		}
		d, err := compileOnce(c)
		c.Close(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		warm = append(warm, d)
	}
	rt, err := NewRuntime(ctx, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, nil, nil, err
	}
	for i := 0; i < nInst; i++ {
		start := time.Now()
		g, err := Instantiate(ctx, rt, cm)
		if err != nil {
			return nil, nil, nil, err
		}
		inst = append(inst, time.Since(start))
		g.Close(ctx)
	}
	return cold, warm, inst, nil
}

func startupExtism(ctx context.Context, wasm []byte, cacheDir string, nCompile, nInst int) (cold, warm, inst []time.Duration, err error) {
	compileOnce := func(cache wazero.CompilationCache) (time.Duration, error) {
		start := time.Now()
		x, err := NewExtism(ctx, wasm, cache)
		if err != nil {
			return 0, err
		}
		d := time.Since(start)
		x.Close(ctx)
		return d, nil
	}
	for i := 0; i < nCompile; i++ {
		d, err := compileOnce(nil)
		if err != nil {
			return nil, nil, nil, err
		}
		cold = append(cold, d)
	}
	c, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := compileOnce(c); err != nil {
		return nil, nil, nil, err
	}
	c.Close(ctx)
	for i := 0; i < nCompile; i++ {
		c, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return nil, nil, nil, err
		}
		d, err := compileOnce(c)
		c.Close(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		warm = append(warm, d)
	}
	x, err := NewExtism(ctx, wasm, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	defer x.Close(ctx)
	for i := 0; i < nInst; i++ {
		start := time.Now()
		p, err := x.Instance(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		inst = append(inst, time.Since(start))
		p.Close(ctx)
	}
	return cold, warm, inst, nil
}
