package bus

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gibsey/gibsey/host/event"
)

// deadline is how long any test waits for something that should happen: generous, because
// a real Kafka group rejoin can take seconds on a busy 2-core machine.
const deadline = 60 * time.Second

// forEachBackend runs fn against the embedded broker, and against real Kafka when
// GIBSEY_TEST_KAFKA is set. The config has a fresh DataDir (embedded) and a test logger.
func forEachBackend(t *testing.T, fn func(t *testing.T, cfg Config)) {
	t.Run("embedded", func(t *testing.T) {
		fn(t, Config{DataDir: t.TempDir(), Logger: testLogger(t)})
	})
	t.Run("kafka", func(t *testing.T) {
		cfg, ok := realKafka(t)
		if !ok {
			t.Skip("GIBSEY_TEST_KAFKA is not set: skipping the real-Kafka run (make test sets it, e.g. 127.0.0.1:9092)")
		}
		fn(t, cfg)
	})
}

func realKafka(t *testing.T) (Config, bool) {
	addr := os.Getenv("GIBSEY_TEST_KAFKA")
	if addr == "" {
		return Config{}, false
	}
	return Config{Brokers: strings.Split(addr, ","), Logger: testLogger(t), ConnectTimeout: deadline}, true
}

// syncBuf collects logs; they are printed only when the test fails.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(t *testing.T) *slog.Logger {
	buf := &syncBuf{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func openBus(t *testing.T, cfg Config) *Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	b, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func uniq(prefix string) string { return prefix + "-" + uuid.NewString()[:13] }

// testTopic creates a topic of its own for one test (deleted afterwards on real Kafka), so
// tests sharing a broker never see each other's records.
func testTopic(t *testing.T, b *Bus, partitions int32) string {
	t.Helper()
	name := uniq("gibsey-test")
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if _, err := b.admin.CreateTopic(ctx, partitions, 1, nil, name); err != nil {
		t.Fatalf("create test topic %s: %v", name, err)
	}
	if err := b.EnsureTopics(ctx, []string{name}); err != nil { // waits for leaders
		t.Fatalf("test topic %s not ready: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.admin.DeleteTopics(ctx, name)
	})
	return name
}

// symbolEnv builds a valid ui.symbol envelope for a session; n varies its content.
func symbolEnv(t *testing.T, sid string, n int) event.Envelope {
	t.Helper()
	env, err := event.New(event.TypeSymbol, sid, event.ActorUser, event.SymbolClick{
		CharacterID: "princhetta", SectionID: n%16 + 1, SymbolID: fmt.Sprintf("S%d", n), Orientation: event.Orientations[n%4],
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func mustMarshal(t *testing.T, env event.Envelope) []byte {
	t.Helper()
	b, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// produceAt produces a raw record and returns its partition and offset.
func produceAt(t *testing.T, b *Bus, topic string, key, value []byte, h map[string]string) (int32, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	p, o, err := b.ProduceRawAt(ctx, topic, key, value, h)
	if err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
	return p, o
}

// running is a stage running in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func startStage(t *testing.T, b *Bus, s Stage) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- b.Run(ctx, s) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the stage and waits for Run to return; Run must return nil.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.done == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.done:
		r.done = nil
		if err != nil {
			t.Errorf("Run returned %v, want nil after cancel", err)
		}
	case <-time.After(deadline):
		t.Fatalf("Run did not return within %s of its context being cancelled", deadline)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s", deadline, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// collector records what a handler saw, safely.
type collector struct {
	mu   sync.Mutex
	recs []*Record
}

func (c *collector) add(r *Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, r)
}

func (c *collector) snapshot() []*Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Record(nil), c.recs...)
}

func (c *collector) ids() []string {
	var out []string
	for _, r := range c.snapshot() {
		out = append(out, r.Env.EventID)
	}
	return out
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs)
}

// committed returns the group's committed next offset for a partition (-1 when none).
func committed(t *testing.T, b *Bus, group, topic string, partition int32) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	resp, err := b.admin.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch committed offsets of %s: %v", group, err)
	}
	o, ok := resp.Lookup(topic, partition)
	if !ok || o.Err != nil {
		return -1
	}
	return o.At
}

// dlqWatch reads gibsey.dlq from where it ended when the watch started.
type dlqWatch struct {
	cl   *kgo.Client
	mu   sync.Mutex
	recs []*kgo.Record
}

func watchDLQ(t *testing.T, b *Bus) *dlqWatch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	ends, err := b.admin.ListEndOffsets(ctx, event.TopicDLQ)
	if err != nil || ends.Error() != nil {
		t.Fatalf("list dlq end offsets: %v %v", err, ends.Error())
	}
	cl, err := kgo.NewClient(append(b.ClientOptions(), kgo.ConsumePartitions(ends.KOffsets()))...)
	if err != nil {
		t.Fatal(err)
	}
	w := &dlqWatch{cl: cl}
	pctx, pcancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for pctx.Err() == nil {
			fs := cl.PollFetches(pctx)
			w.mu.Lock()
			w.recs = append(w.recs, fs.Records()...)
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { pcancel(); <-done; cl.Close() })
	return w
}

// waitN waits until n dead letters that came from topic are seen, and returns them.
func (w *dlqWatch) waitN(t *testing.T, topic string, n int) []*kgo.Record {
	t.Helper()
	var got []*kgo.Record
	waitFor(t, fmt.Sprintf("%d dead letters from %s", n, topic), func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		got = got[:0]
		for _, r := range w.recs {
			if headerMap(r.Headers)[event.HeaderDLQTopic] == topic {
				got = append(got, r)
			}
		}
		return len(got) >= n
	})
	return got
}

// startGroupAtEnd commits the current end offsets of topics for a new group, so that a test
// on shared topics (real Kafka) starts after everything earlier tests produced.
func startGroupAtEnd(t *testing.T, b *Bus, group string, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	ends, err := b.admin.ListEndOffsets(ctx, topics...)
	if err != nil || ends.Error() != nil {
		t.Fatalf("list end offsets: %v %v", err, ends.Error())
	}
	offs := ends.Offsets()
	if err := b.admin.CommitAllOffsets(ctx, group, offs); err != nil {
		t.Fatalf("commit start offsets for %s: %v", group, err)
	}
}
