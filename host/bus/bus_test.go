package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gibsey/gibsey/host/event"
)

func TestProduceConsumeRoundTripKeepsKeyHeadersAndOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		b := openBus(t, cfg)
		group := uniq("roundtrip")
		startGroupAtEnd(t, b, group, event.TopicUISymbol)

		sessions := []string{event.NewID(), event.NewID()}
		mine := map[string]bool{sessions[0]: true, sessions[1]: true}
		sent := map[string][]string{} // session -> event ids in produce order
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		for i := 0; i < 20; i++ {
			sid := sessions[i%2]
			env := symbolEnv(t, sid, i)
			if err := b.Produce(ctx, env, map[string]string{"x-test": "round-trip"}); err != nil {
				t.Fatalf("Produce: %v", err)
			}
			sent[sid] = append(sent[sid], env.EventID)
		}

		var got collector
		startStage(t, b, Stage{Name: group, Topics: []string{event.TopicUISymbol}, Handle: func(_ context.Context, r *Record) error {
			if mine[string(r.Key)] {
				got.add(r)
			}
			return nil
		}})
		waitFor(t, "20 records back", func() bool { return got.len() >= 20 })

		order := map[string][]string{}
		for _, r := range got.snapshot() {
			if string(r.Key) != r.Env.SessionID {
				t.Errorf("key %q, want the session id %q", r.Key, r.Env.SessionID)
			}
			if r.Topic != event.TopicUISymbol {
				t.Errorf("topic %s", r.Topic)
			}
			want := event.HeadersFor(r.Env)
			want["x-test"] = "round-trip"
			for k, v := range want {
				if r.Headers[k] != v {
					t.Errorf("header %s = %q, want %q (all: %v)", k, r.Headers[k], v, r.Headers)
				}
			}
			if r.Headers[event.HeaderCharacter] != "princhetta" || r.Headers[event.HeaderType] != event.TypeSymbol {
				t.Errorf("x-* headers missing: %v", r.Headers)
			}
			order[r.Env.SessionID] = append(order[r.Env.SessionID], r.Env.EventID)
		}
		for _, sid := range sessions {
			if strings.Join(order[sid], ",") != strings.Join(sent[sid], ",") {
				t.Errorf("session %s: consumed order\n%v\nwant produce order\n%v", sid, order[sid], sent[sid])
			}
		}

		// An invalid envelope is refused before anything is produced.
		bad := symbolEnv(t, sessions[0], 99)
		bad.SessionID = "not-a-uuid"
		if err := b.Produce(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "session_id") {
			t.Fatalf("Produce of an invalid envelope: %v, want an error naming session_id", err)
		}
	})
}

func TestMalformedRecordsAreDeadLetteredAndTheStageMovesOn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		b := openBus(t, cfg)
		topic := testTopic(t, b, 3)
		dlq := watchDLQ(t, b)
		key := []byte(event.NewID())
		good1 := symbolEnv(t, string(key), 1)
		good2 := symbolEnv(t, string(key), 2)
		ok := mustMarshal(t, symbolEnv(t, string(key), 3))
		badID := strings.Replace(string(ok), `"event_id":"`, `"event_id":"x`, 1)
		unknown := strings.Replace(string(ok), `"type":"ui.symbol"`, `"type":"what.ever"`, 1)
		h := map[string]string{"x-origin": "malformed-test"}

		p, o1 := produceAt(t, b, topic, key, mustMarshal(t, good1), h)
		bads := [][]byte{[]byte("this is not JSON"), []byte(badID), []byte(unknown)}
		for _, v := range bads {
			produceAt(t, b, topic, key, v, h)
		}
		produceAt(t, b, topic, key, mustMarshal(t, good2), h)

		var got collector
		group := uniq("malformed")
		startStage(t, b, Stage{Name: group, Topics: []string{topic}, Handle: func(_ context.Context, r *Record) error {
			got.add(r)
			return nil
		}})
		waitFor(t, "the good record after the malformed ones", func() bool { return got.len() >= 2 })
		if ids := got.ids(); strings.Join(ids, ",") != good1.EventID+","+good2.EventID {
			t.Fatalf("handled %v, want only the two good records in order", ids)
		}

		dead := dlq.waitN(t, topic, 3)
		if len(dead) != 3 {
			t.Fatalf("%d dead letters, want 3", len(dead))
		}
		wantReason := []string{"malformed", "event_id", "unknown event type"}
		for i, r := range dead {
			hm := headerMap(r.Headers)
			if string(r.Key) != string(key) || string(r.Value) != string(bads[i]) {
				t.Errorf("dead letter %d: key/value changed: %q / %q", i, r.Key, r.Value)
			}
			if !strings.Contains(hm[event.HeaderDLQReason], "malformed") || !strings.Contains(hm[event.HeaderDLQReason], wantReason[i]) {
				t.Errorf("dead letter %d: reason %q, want it to mention %q", i, hm[event.HeaderDLQReason], wantReason[i])
			}
			if hm[event.HeaderDLQPartition] != strconv.Itoa(int(p)) || hm[event.HeaderDLQOffset] != strconv.FormatInt(o1+1+int64(i), 10) {
				t.Errorf("dead letter %d: partition/offset headers %s/%s, want %d/%d", i, hm[event.HeaderDLQPartition], hm[event.HeaderDLQOffset], p, o1+1+int64(i))
			}
			if hm[event.HeaderDLQStage] != group || hm["x-origin"] != "malformed-test" {
				t.Errorf("dead letter %d: headers %v, want stage %s and the original headers", i, hm, group)
			}
		}
	})
}

func TestFailingHandlerIsRetriedMaxAttemptsThenDeadLettered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		b := openBus(t, cfg)
		topic := testTopic(t, b, 3)
		dlq := watchDLQ(t, b)
		key := []byte(event.NewID())
		envs := []event.Envelope{symbolEnv(t, string(key), 1), symbolEnv(t, string(key), 2), symbolEnv(t, string(key), 3)}
		var p int32
		var last int64
		for _, e := range envs {
			p, last = produceAt(t, b, topic, key, mustMarshal(t, e), nil)
		}

		var got collector
		var attempts atomic.Int32
		group := uniq("poison")
		run := startStage(t, b, Stage{Name: group, Topics: []string{topic}, MaxAttempts: 3, Handle: func(_ context.Context, r *Record) error {
			if r.Env.EventID == envs[1].EventID {
				attempts.Add(1)
				return errors.New("boom: this page cannot be written")
			}
			got.add(r)
			return nil
		}})
		waitFor(t, "the record after the poison one", func() bool { return got.len() >= 2 })
		if n := attempts.Load(); n != 3 {
			t.Errorf("poison record tried %d times, want MaxAttempts = 3", n)
		}
		if ids := got.ids(); strings.Join(ids, ",") != envs[0].EventID+","+envs[2].EventID {
			t.Errorf("handled %v, want records 1 and 3 in order", ids)
		}
		dead := dlq.waitN(t, topic, 1)
		hm := headerMap(dead[0].Headers)
		if !strings.Contains(hm[event.HeaderDLQReason], "boom") || !strings.Contains(hm[event.HeaderDLQReason], "3 times") {
			t.Errorf("reason %q, want the handler's error and the attempt count", hm[event.HeaderDLQReason])
		}
		if string(dead[0].Value) != string(mustMarshal(t, envs[1])) {
			t.Errorf("dead letter value is not the original record")
		}
		run.stop(t)
		if c := committed(t, b, group, topic, p); c != last+1 {
			t.Errorf("committed offset %d, want %d (past the dead letter and the last record)", c, last+1)
		}
	})
}

func TestTransientErrorPausesWithoutLossThenContinuesInOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		b := openBus(t, cfg)
		topic := testTopic(t, b, 3)
		key := []byte(event.NewID())
		var envs []event.Envelope
		var offs []int64
		var p int32
		for i := 0; i < 4; i++ {
			e := symbolEnv(t, string(key), i)
			envs = append(envs, e)
			var o int64
			p, o = produceAt(t, b, topic, key, mustMarshal(t, e), nil)
			offs = append(offs, o)
		}

		release := make(chan struct{})
		var tries atomic.Int32
		var got collector
		group := uniq("transient")
		run := startStage(t, b, Stage{Name: group, Topics: []string{topic}, MaxAttempts: 1, Handle: func(_ context.Context, r *Record) error {
			if r.Env.EventID == envs[1].EventID {
				select {
				case <-release:
				default:
					tries.Add(1)
					return Transient(errors.New("store unavailable"))
				}
			}
			got.add(r)
			return nil
		}})
		waitFor(t, "the same record to be retried", func() bool { return tries.Load() >= 4 })
		// While paused: nothing after the failing record handled, the failing record not
		// committed, and it was not dead-lettered (MaxAttempts 1 does not apply to transient errors).
		if ids := got.ids(); len(ids) != 1 || ids[0] != envs[0].EventID {
			t.Fatalf("while paused the stage handled %v, want only the first record", ids)
		}
		if c := committed(t, b, group, topic, p); c > offs[1] {
			t.Fatalf("committed offset %d while record at %d was failing: it would be lost", c, offs[1])
		}
		// The record handled before the pause is checkpointed (no replay after a crash).
		waitFor(t, "the record before the pause to be committed", func() bool { return committed(t, b, group, topic, p) == offs[1] })
		close(release)
		waitFor(t, "all four records", func() bool { return got.len() >= 4 })
		want := []string{envs[0].EventID, envs[1].EventID, envs[2].EventID, envs[3].EventID}
		if ids := got.ids(); strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Fatalf("handled %v, want %v (in order, once)", ids, want)
		}
		run.stop(t)
		if c := committed(t, b, group, topic, p); c != offs[3]+1 {
			t.Fatalf("committed %d after the pause, want %d", c, offs[3]+1)
		}
	})
}

func TestCommittedOffsetsResumeWithoutLossOrReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		b := openBus(t, cfg)
		topic := testTopic(t, b, 3)
		group := uniq("resume")
		key := []byte(event.NewID()) // one key: one partition, so order is total
		produce := func(from, n int) (ids []string, p int32, last int64) {
			for i := from; i < from+n; i++ {
				e := symbolEnv(t, string(key), i)
				p, last = produceAt(t, b, topic, key, mustMarshal(t, e), nil)
				ids = append(ids, e.EventID)
			}
			return ids, p, last
		}
		first, p, lastFirst := produce(0, 4)

		var c1 collector
		run1 := startStage(t, b, Stage{Name: group, Topics: []string{topic}, Handle: func(_ context.Context, r *Record) error {
			c1.add(r)
			return nil
		}})
		waitFor(t, "the first consumer to handle 4 records", func() bool { return c1.len() >= 4 })
		run1.stop(t) // Run returned nil: its final commit succeeded
		// Confirm the commit on the broker before the second consumer starts.
		waitFor(t, "the first consumer's commit to be visible", func() bool {
			return committed(t, b, group, topic, p) == lastFirst+1
		})
		if ids := c1.ids(); strings.Join(ids, ",") != strings.Join(first, ",") {
			t.Fatalf("first consumer handled %v, want %v", ids, first)
		}

		second, _, _ := produce(4, 4)
		var c2 collector
		startStage(t, b, Stage{Name: group, Topics: []string{topic}, Handle: func(_ context.Context, r *Record) error {
			c2.add(r)
			return nil
		}})
		waitFor(t, "the second consumer to handle the 4 new records", func() bool {
			ids := c2.ids()
			return len(ids) > 0 && ids[len(ids)-1] == second[3]
		})
		// Same partition, in order: a replay of committed records would have come first.
		if ids := c2.ids(); strings.Join(ids, ",") != strings.Join(second, ",") {
			t.Fatalf("second consumer handled %v, want exactly the 4 new records %v (no committed record again)", ids, second)
		}
	})
}

func TestRebalanceMidStreamLosesNothingAndReplaysNothingCommitted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		b := openBus(t, cfg)
		topic := testTopic(t, b, 4)
		group := uniq("rebalance")
		keys := make([][]byte, 16)
		for i := range keys {
			keys[i] = []byte(event.NewID())
		}

		var mu sync.Mutex
		produced := map[string]bool{}
		handled := map[string]int{}
		committedAt := map[int32]int64{} // partition -> highest committed next offset, any member
		var violations []string
		perMember := map[string]int{}
		onCommit := func(c map[string]map[int32]int64) {
			mu.Lock()
			defer mu.Unlock()
			for p, o := range c[topic] {
				if o > committedAt[p] {
					committedAt[p] = o
				}
			}
		}
		handler := func(member string) Handler {
			return func(_ context.Context, r *Record) error {
				mu.Lock()
				if c, ok := committedAt[r.Partition]; ok && r.Offset < c {
					violations = append(violations, fmt.Sprintf("%s handled p%d@%d below committed %d", member, r.Partition, r.Offset, c))
				}
				handled[r.Env.EventID]++
				perMember[member]++
				mu.Unlock()
				time.Sleep(time.Millisecond) // keep the stream busy while members come and go
				return nil
			}
		}
		count := func(member string) int { mu.Lock(); defer mu.Unlock(); return perMember[member] }

		// A producer that keeps the stream flowing until told to stop.
		stopProducing := make(chan struct{})
		producerDone := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*deadline)
			defer cancel()
			for i := 0; i < 20000; i++ {
				select {
				case <-stopProducing:
					producerDone <- nil
					return
				default:
				}
				e, err := event.New(event.TypeSymbol, string(keys[i%len(keys)]), event.ActorUser,
					event.SymbolClick{CharacterID: "x", SectionID: 1, SymbolID: "S", Orientation: "N"})
				if err == nil {
					var v []byte
					v, err = e.Marshal()
					if err == nil {
						err = b.ProduceRaw(ctx, topic, keys[i%len(keys)], v, nil)
					}
				}
				if err != nil {
					producerDone <- err
					return
				}
				mu.Lock()
				produced[e.EventID] = true
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
			producerDone <- nil
		}()

		a := startStage(t, b, Stage{Name: group, Topics: []string{topic}, Handle: handler("A"), OnCommit: onCommit})
		waitFor(t, "member A to handle records", func() bool { return count("A") >= 30 })
		startStage(t, b, Stage{Name: group, Topics: []string{topic}, Handle: handler("B"), OnCommit: onCommit})
		waitFor(t, "member B to get partitions and handle records (a rebalance mid-stream)", func() bool { return count("B") >= 30 })
		a.stop(t) // A leaves mid-stream: B must take over A's partitions
		bAtLeave := count("B")
		waitFor(t, "member B to go on after A left", func() bool { return count("B") >= bAtLeave+50 })
		close(stopProducing)
		if err := <-producerDone; err != nil {
			t.Fatalf("producer: %v", err)
		}

		waitFor(t, "every produced record to be handled", func() bool {
			mu.Lock()
			defer mu.Unlock()
			for id := range produced {
				if handled[id] == 0 {
					return false
				}
			}
			return true
		})
		mu.Lock()
		defer mu.Unlock()
		if len(violations) > 0 {
			t.Fatalf("%d committed records handled again, e.g. %v", len(violations), violations[:min(5, len(violations))])
		}
		dups := 0
		for _, n := range handled {
			if n > 1 {
				dups++
			}
		}
		t.Logf("%d records produced, A handled %d, B handled %d, %d handled twice (uncommitted only)", len(produced), perMember["A"], perMember["B"], dups)
	})
}

func TestStartAtEndSkipsHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		b := openBus(t, cfg)
		topic := testTopic(t, b, 1)
		key := []byte(event.NewID())
		old := symbolEnv(t, string(key), 0)
		produceAt(t, b, topic, key, mustMarshal(t, old), nil)

		var got collector
		startStage(t, b, Stage{Name: uniq("tail"), Topics: []string{topic}, StartAtEnd: true, Handle: func(_ context.Context, r *Record) error {
			got.add(r)
			return nil
		}})
		// Keep producing new records until the tail sees one (it joins at some point).
		end := time.Now().Add(deadline)
		for got.len() == 0 {
			if time.Now().After(end) {
				t.Fatal("the live tail never saw a new record")
			}
			produceAt(t, b, topic, key, mustMarshal(t, symbolEnv(t, string(key), 1)), nil)
			time.Sleep(100 * time.Millisecond)
		}
		for _, id := range got.ids() {
			if id == old.EventID {
				t.Fatal("a StartAtEnd stage handled a record produced before it started")
			}
		}
	})
}

func TestOpenCreatesTheTenTopics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		b := openBus(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		parts, err := b.TopicPartitions(ctx, event.Topics...)
		if err != nil {
			t.Fatal(err)
		}
		for _, topic := range event.Topics {
			n, ok := parts[topic]
			if !ok || n < 1 {
				t.Errorf("topic %s missing after Open (have %v)", topic, parts)
			}
			if b.Embedded() && n != DefaultEmbeddedPartitions {
				t.Errorf("embedded topic %s has %d partitions, want %d", topic, n, DefaultEmbeddedPartitions)
			}
		}
		if err := b.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if len(b.Brokers()) == 0 || !strings.Contains(b.Brokers()[0], ":") {
			t.Fatalf("Brokers() = %v", b.Brokers())
		}
	})
}

func TestEnsureTopicsRefusesUnusableTopics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cfg Config) {
		b := openBus(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()

		// A compacted topic would drop all but the last event of each session.
		compacted := uniq("gibsey-test-compact")
		if _, err := b.admin.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, compacted); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.admin.DeleteTopics(context.Background(), compacted) })
		err := b.EnsureTopics(ctx, []string{compacted})
		if !errors.Is(err, ErrTopicUnusable) || !strings.Contains(err.Error(), compacted) || !strings.Contains(err.Error(), "compact") {
			t.Fatalf("compacted topic: got %v, want ErrTopicUnusable naming the topic and compaction", err)
		}

		// Another partition count than configured is accepted as it is.
		other := testTopic(t, b, 1)
		if err := b.EnsureTopics(ctx, []string{other}); err != nil {
			t.Fatalf("a topic with 1 partition (configured %d) was refused: %v", b.cfg.Partitions, err)
		}

		// A replication factor the cluster cannot give is refused before creating anything.
		missing := uniq("gibsey-test-rf")
		b.cfg.Replication = 99
		err = b.EnsureTopics(ctx, []string{missing})
		b.cfg.Replication = 1
		if !errors.Is(err, ErrTopicUnusable) || !strings.Contains(err.Error(), "replication factor 99") || !strings.Contains(err.Error(), "broker") {
			t.Fatalf("replication 99: got %v, want a clear refusal", err)
		}
		if parts, _ := b.TopicPartitions(ctx, missing); len(parts) != 0 {
			t.Fatalf("topic %s was created despite the refusal", missing)
		}
	})
}

func TestOpenRefusesACompactedEventTopic(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Logger: testLogger(t)}
	b := openBus(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	resp, err := b.admin.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")}}, event.TopicAudit)
	for _, r := range resp {
		if err == nil && r.Err != nil {
			err = r.Err
		}
	}
	if err != nil {
		t.Fatalf("alter %s: %v", event.TopicAudit, err)
	}
	b.Close()

	_, err = Open(ctx, cfg)
	if !errors.Is(err, ErrTopicUnusable) || !strings.Contains(err.Error(), event.TopicAudit) || !strings.Contains(err.Error(), "cleanup.policy=compact") {
		t.Fatalf("Open with a compacted %s: got %v, want a clear refusal", event.TopicAudit, err)
	}
}

func TestEmbeddedRestartKeepsTopicsRecordsAndCommittedOffsets(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Logger: testLogger(t)}
	sid := event.NewID()
	group := uniq("restart")
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()

	b1 := openBus(t, cfg)
	var before []string
	for i := 0; i < 3; i++ {
		e := symbolEnv(t, sid, i)
		if err := b1.Produce(ctx, e, nil); err != nil {
			t.Fatal(err)
		}
		before = append(before, e.EventID)
	}
	var c1 collector
	r1 := startStage(t, b1, Stage{Name: group, Topics: []string{event.TopicUISymbol}, Handle: func(_ context.Context, r *Record) error {
		c1.add(r)
		return nil
	}})
	waitFor(t, "3 records before the restart", func() bool { return c1.len() >= 3 })
	r1.stop(t)
	if err := b1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b2 := openBus(t, cfg)
	parts, err := b2.TopicPartitions(ctx, event.Topics...)
	if err != nil || len(parts) != len(event.Topics) {
		t.Fatalf("after restart: topics %v (%v), want all ten", parts, err)
	}
	// The records themselves survived.
	cl, err := kgo.NewClient(append(b2.ClientOptions(), kgo.ConsumeTopics(event.TopicUISymbol), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var seen []string
	waitFor(t, "the 3 records before the restart to be readable", func() bool {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		defer pcancel()
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			if e, err := event.Decode(r.Value); err == nil {
				seen = append(seen, e.EventID)
			}
		})
		return len(seen) >= 3
	})
	if strings.Join(seen, ",") != strings.Join(before, ",") {
		t.Fatalf("after restart the topic holds %v, want %v", seen, before)
	}

	var after []string
	for i := 3; i < 5; i++ {
		e := symbolEnv(t, sid, i)
		if err := b2.Produce(ctx, e, nil); err != nil {
			t.Fatal(err)
		}
		after = append(after, e.EventID)
	}
	var c2 collector
	startStage(t, b2, Stage{Name: group, Topics: []string{event.TopicUISymbol}, Handle: func(_ context.Context, r *Record) error {
		c2.add(r)
		return nil
	}})
	waitFor(t, "the 2 new records after the restart", func() bool {
		ids := c2.ids()
		return len(ids) > 0 && ids[len(ids)-1] == after[1]
	})
	if ids := c2.ids(); strings.Join(ids, ",") != strings.Join(after, ",") {
		t.Fatalf("after restart the group handled %v, want only the new %v (committed offsets kept)", ids, after)
	}
}

func TestOpenFailsClearlyWhenBrokersAreUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	_, err := Open(ctx, Config{Brokers: []string{"127.0.0.1:1"}, ConnectTimeout: 2 * time.Second, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Open on a closed port: %v, want an 'unreachable' error naming the address", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Open did not give up within its ConnectTimeout")
	}
}

func TestOpenNeedsADataDirWhenEmbedded(t *testing.T) {
	_, err := Open(context.Background(), Config{})
	if err == nil || !strings.Contains(err.Error(), "data") {
		t.Fatalf("embedded without DataDir: %v", err)
	}
}

func TestTransientWraps(t *testing.T) {
	base := errors.New("down")
	err := Transient(base)
	if !errors.Is(err, ErrTransient) || !errors.Is(err, base) {
		t.Fatalf("Transient(%v) = %v: not Is ErrTransient and the original", base, err)
	}
	if errors.Is(fmt.Errorf("wrapped: %w", base), ErrTransient) {
		t.Fatal("a plain error counts as transient")
	}
	if Transient(nil) != nil {
		t.Fatal("Transient(nil) != nil")
	}
}
