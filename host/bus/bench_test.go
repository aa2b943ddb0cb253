package bus

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkProduceConsumeHop measures one raw franz-go hop on the embedded broker: produce a
// record (linger 0, acks=all, idempotent) and wait until a consumer already tailing the
// partition receives it. It reports the median and p99 hop as the baseline for later stages.
func BenchmarkProduceConsumeHop(b *testing.B) {
	bus, err := Open(context.Background(), Config{DataDir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()
	topic := "gibsey-bench-hop"
	ctx := context.Background()
	if _, err := bus.admin.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	prod, err := kgo.NewClient(append(bus.ClientOptions(), kgo.ProducerLinger(0), kgo.DefaultProduceTopic(topic))...)
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	cons, err := kgo.NewClient(append(bus.ClientOptions(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(time.Second))...)
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close()

	got := make(chan struct{}, 1024)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for pctx.Err() == nil {
			cons.PollFetches(pctx).EachRecord(func(*kgo.Record) { got <- struct{}{} })
		}
	}()
	hop := func(i int) time.Duration {
		start := time.Now()
		if err := prod.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			b.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(deadline):
			b.Fatalf("record %d never reached the consumer", i)
		}
		return time.Since(start)
	}
	for i := 0; i < 50; i++ { // warm up: connections, fetch session
		hop(i)
	}

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lat = append(lat, hop(i))
	}
	b.StopTimer()
	slices.Sort(lat)
	med := lat[len(lat)/2]
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	b.ReportMetric(float64(med.Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(p99.Microseconds())/1000, "ms-p99")
	b.Logf("embedded produce→consume hop over %d records: median %s, p99 %s", len(lat), med, p99)
}
