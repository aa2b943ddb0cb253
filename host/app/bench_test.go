package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gibsey/gibsey/host/event"
)

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkClickToPage (embedded): each iteration posts a symbol and waits for its page on
// the session's SSE stream. It reports the median click→page time, the median of a raw
// franz-go produce→consume hop on the same (embedded) broker as the baseline, and their
// ratio.
func BenchmarkClickToPage(b *testing.B) {
	ta := startApp(b, embeddedBackend, appOpts{Quiet: true})
	sid := event.NewID()
	stream := ta.openSSE(b, sid, "")
	c := ta.characterByID(b, "princhetta")
	// One click before timing: the actors' first instances, the store's first reads.
	stream.waitFor(b, "the first page", pageOf(ta.postSymbol(b, sid, c, "N")))

	var clicks []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		cue := ta.postSymbol(b, sid, ta.character(b, i), []string{"N", "E", "S", "W"}[i%4])
		stream.waitFor(b, "the page", pageOf(cue))
		clicks = append(clicks, time.Since(start))
	}
	b.StopTimer()
	hop := hopMedian(b, ta, max(b.N, 50))
	click := median(clicks)
	b.ReportMetric(ms(click), "click-ms-median")
	b.ReportMetric(ms(hop), "hop-ms-median")
	if hop > 0 {
		b.ReportMetric(float64(click)/float64(hop), "click/hop")
	}
}

// hopMedian measures n produce→consume hops of one small record through the App's broker
// with plain franz-go clients (producer linger 0), on a topic of its own.
func hopMedian(b *testing.B, ta *testApp, n int) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := "gibsey-bench-hop-" + event.NewID()[:8]
	if _, err := ta.Bus.Admin().CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		b.Fatalf("create %s: %v", topic, err)
	}
	prod, err := kgo.NewClient(append(ta.Bus.ClientOptions(), kgo.ProducerLinger(0), kgo.DefaultProduceTopic(topic))...)
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	cons, err := kgo.NewClient(append(ta.Bus.ClientOptions(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(0)}}),
		kgo.FetchMaxWait(time.Second))...)
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close()
	var hops []time.Duration
	for i := 0; i < n+5; i++ {
		want := strconv.Itoa(i)
		start := time.Now()
		if err := prod.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte(want)}).FirstErr(); err != nil {
			b.Fatalf("produce: %v", err)
		}
		for got := false; !got; {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				b.Fatalf("consume: %v", ctx.Err())
			}
			fs.EachRecord(func(r *kgo.Record) { got = got || string(r.Value) == want })
		}
		if i >= 5 { // the first hops connect and fetch metadata
			hops = append(hops, time.Since(start))
		}
	}
	return median(hops)
}

// BenchmarkFlowThroughput (GIBSEY_BENCH_FLOW=1): 8 readers click for 30 s
// (GIBSEY_BENCH_SECONDS overrides), each with up to 4 cues in flight and its own SSE
// stream, on the embedded backend and — in the same run, when GIBSEY_TEST_KAFKA /
// GIBSEY_TEST_CASSANDRA are set — on the real services. It reports pages/s for each.
func BenchmarkFlowThroughput(b *testing.B) {
	if os.Getenv("GIBSEY_BENCH_FLOW") != "1" {
		b.Skip("GIBSEY_BENCH_FLOW=1 is not set: skipping the 30 s throughput runs")
	}
	dur := 30 * time.Second
	if s := os.Getenv("GIBSEY_BENCH_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("GIBSEY_BENCH_SECONDS=%q: want a number of seconds", s)
		}
		dur = time.Duration(n) * time.Second
	}
	emb := flowRate(b, embeddedBackend, dur)
	b.ReportMetric(emb, "pages/s-embedded")
	if len(envKafka) > 0 || len(envCassandra) > 0 {
		realRate := flowRate(b, backend{name: "real", kafka: envKafka, cassandra: envCassandra}, dur)
		b.ReportMetric(realRate, "pages/s-real")
		if emb > 0 {
			b.ReportMetric(realRate/emb, "real/embedded")
		}
	} else {
		b.Log("GIBSEY_TEST_KAFKA / GIBSEY_TEST_CASSANDRA are not set: no run on real services")
	}
}

// flowRate runs 8 clicking readers for dur on a fresh App and returns pages per second,
// counted from the first click to the last page (the backlog drained).
func flowRate(b *testing.B, be backend, dur time.Duration) float64 {
	b.Helper()
	const clients, window = 8, 4
	ta := startApp(b, be, appOpts{Quiet: true})
	defer ta.stop()
	type result struct {
		posted, pages int
		last          time.Time
		err           error
	}
	results := make(chan result, clients)
	start := time.Now()
	end := start.Add(dur)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		sid := event.NewID()
		stream := ta.openSSE(b, sid, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r result
			defer func() { results <- r }()
			inFlight := map[string]bool{}
			for n := 0; time.Now().Before(end) || len(inFlight) > 0; {
				for time.Now().Before(end) && len(inFlight) < window {
					id, status, body := ta.trySymbol(sid, ta.character(b, i*3+n), []string{"N", "E", "S", "W"}[n%4])
					n++
					if status != http.StatusAccepted {
						r.err = fmt.Errorf("POST /event/ui/symbol: %d %s", status, body)
						return
					}
					inFlight[id] = true
					r.posted++
				}
				select {
				case ev, ok := <-stream.events:
					if !ok {
						r.err = fmt.Errorf("the SSE stream of %s ended", sid)
						return
					}
					var pd event.PageDone
					if ev.Event == "page.done" && json.Unmarshal([]byte(ev.Data), &pd) == nil && inFlight[pd.Provenance.CauseEventID] {
						delete(inFlight, pd.Provenance.CauseEventID)
						r.pages++
						r.last = time.Now()
					}
				case <-time.After(pageDeadline):
					r.err = fmt.Errorf("no page within %s with %d cues in flight", pageDeadline, len(inFlight))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(results)
	pages, posted := 0, 0
	last := start
	for r := range results {
		if r.err != nil {
			b.Fatalf("%s: %v", be.name, r.err)
		}
		pages += r.pages
		posted += r.posted
		if r.last.After(last) {
			last = r.last
		}
	}
	rate := float64(pages) / last.Sub(start).Seconds()
	b.Logf("%s: %d readers, %s: %d cues, %d pages in %s: %.1f pages/s", be.name, clients, dur, posted, pages, last.Sub(start).Round(time.Millisecond), rate)
	return rate
}
