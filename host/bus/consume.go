package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gibsey/gibsey/host/event"
)

// Retry pacing of a stage.
const (
	DefaultMaxAttempts = 3
	retryBackoffMin    = 50 * time.Millisecond
	retryBackoffMax    = 2 * time.Second
	pollMaxRecords     = 256
	finalCommitTimeout = 15 * time.Second
)

// ErrTransient marks a handler error as temporary (a store that is down, a timeout): the
// stage keeps retrying the same record, without committing and without dead-lettering,
// until it succeeds or the stage stops. Wrap errors with Transient.
var ErrTransient = errors.New("transient")

type transientError struct{ err error }

func (e transientError) Error() string   { return "transient: " + e.err.Error() }
func (e transientError) Unwrap() []error { return []error{ErrTransient, e.err} }

// Transient wraps err so that errors.Is(err, ErrTransient) holds (and the original error is
// still reachable with errors.Is/As). Transient(nil) is nil.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

// Record is one consumed Kafka record with its decoded envelope.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   map[string]string
	Timestamp time.Time
	// Env is the decoded, validated envelope. On gibsey.dlq it is decoded on a best-effort
	// basis and may be the zero value.
	Env event.Envelope
}

// Handler processes one record. Its error decides what happens:
//
//   - nil: done; the offset may be committed.
//   - an error wrapping ErrTransient (see Transient): the stage pauses that partition and
//     retries the same record with capped exponential backoff (50 ms … 2 s) until it
//     succeeds or the stage's context ends; nothing after it is handled, nothing committed.
//   - any other error: retried up to Stage.MaxAttempts times in all, then dead-lettered.
//
// A record whose value fails event.Decode (or whose type belongs on another topic) is
// dead-lettered at once without calling the handler. A panic in the handler counts as a
// (non-transient) error. Handlers must be idempotent: after a crash or a failed commit,
// records are delivered again.
type Handler func(ctx context.Context, r *Record) error

// Stage is one consumer group: a name (the group id), the topics it reads and its handler.
type Stage struct {
	// Name is the consumer group id.
	Name string
	// Topics the stage consumes.
	Topics []string
	// Handle processes each record.
	Handle Handler
	// MaxAttempts is how many times a failing (non-transient) record is tried before it is
	// dead-lettered (default 3).
	MaxAttempts int
	// StartAtEnd makes a group that has no committed offsets start at the end of the topics
	// (live tails); by default a new group starts at the beginning.
	StartAtEnd bool
	// Concurrency is how many partitions are handled at once (default 1). Records of one
	// partition are always handled one at a time, in order. Above 1, Handle must be safe
	// for concurrent use.
	Concurrency int
	// OnCommit, if set, is called after every confirmed offset commit with the committed
	// offsets (topic → partition → next offset to read). Metrics and tests use it.
	OnCommit func(committed map[string]map[int32]int64)
}

type topicPartition struct {
	topic     string
	partition int32
}

// stageRun is the state of one Run.
type stageRun struct {
	b   *Bus
	s   Stage
	log *slog.Logger
	cl  *kgo.Client

	mu      sync.Mutex
	pending map[topicPartition]*kgo.Record // last record done per partition, not yet committed

	commitMu sync.Mutex
}

// Run consumes the stage's topics in its consumer group until ctx is done. Offsets are
// committed only for records whose handler returned nil or that were dead-lettered, after
// each polled batch and synchronously; rebalances are held until the batch in hand is done
// and committed, so a rebalance loses nothing and re-delivers nothing that was committed.
// When ctx ends, Run commits what is done, leaves the group and returns nil — or an error if
// that last commit failed (the uncommitted records will then be delivered again).
func (b *Bus) Run(ctx context.Context, s Stage) error {
	if s.Name == "" {
		return errors.New("bus stage: Name (the consumer group id) is required")
	}
	if len(s.Topics) == 0 {
		return fmt.Errorf("bus stage %s: no Topics", s.Name)
	}
	if s.Handle == nil {
		return fmt.Errorf("bus stage %s: no Handle function", s.Name)
	}
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	if s.Concurrency <= 0 {
		s.Concurrency = 1
	}
	st := &stageRun{
		b:       b,
		s:       s,
		log:     b.log.With("stage", s.Name),
		pending: map[topicPartition]*kgo.Record{},
	}
	reset := kgo.NewOffset().AtStart()
	if s.StartAtEnd {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := append(b.ClientOptions(),
		kgo.ConsumerGroup(s.Name),
		kgo.ConsumeTopics(s.Topics...),
		kgo.ConsumeResetOffset(reset),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(st.onRevoked),
		kgo.OnPartitionsLost(st.onLost),
		kgo.SessionTimeout(20*time.Second),
		kgo.HeartbeatInterval(time.Second),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("bus stage %s: consumer: %w", s.Name, err)
	}
	st.cl = cl
	st.log.Info("stage started", "topics", strings.Join(s.Topics, ","))

	errBackoff := retryBackoffMin
	for ctx.Err() == nil {
		fetches := cl.PollRecords(ctx, pollMaxRecords)
		if fetches.IsClientClosed() {
			break
		}
		failed := false
		fetches.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return
			}
			failed = true
			st.log.Warn("fetch error", "topic", topic, "partition", partition, "err", err)
		})
		st.handleBatch(ctx, fetches)
		if ctx.Err() == nil {
			if err := st.commit(ctx); err != nil {
				st.log.Warn("commit failed; will retry with the next batch", "err", err)
			}
		}
		cl.AllowRebalance()
		if failed && fetches.NumRecords() == 0 {
			if !sleepCtx(ctx, errBackoff) {
				break
			}
			errBackoff = min(errBackoff*2, retryBackoffMax)
		} else {
			errBackoff = retryBackoffMin
		}
	}
	return st.shutdown()
}

// shutdown commits what is done, leaves the group and closes the consumer.
func (st *stageRun) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), finalCommitTimeout)
	defer cancel()
	st.cl.AllowRebalance()
	commitErr := st.commit(ctx)
	if commitErr != nil {
		st.log.Error("final commit failed; uncommitted records will be delivered again", "err", commitErr)
	}
	if err := st.cl.LeaveGroupContext(ctx); err != nil {
		st.log.Warn("leave group", "err", err)
	}
	st.cl.Close()
	st.log.Info("stage stopped")
	if commitErr != nil {
		return fmt.Errorf("bus stage %s: final commit: %w", st.s.Name, commitErr)
	}
	return nil
}

// handleBatch handles every polled record, partitions in parallel up to Concurrency, each
// partition in order. It stops early when ctx ends.
func (st *stageRun) handleBatch(ctx context.Context, fetches kgo.Fetches) {
	var parts []kgo.FetchTopicPartition
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) > 0 {
			parts = append(parts, p)
		}
	})
	do := func(p kgo.FetchTopicPartition) {
		for _, r := range p.Records {
			if ctx.Err() != nil || !st.handleRecord(ctx, r) {
				return
			}
			st.mu.Lock()
			st.pending[topicPartition{r.Topic, r.Partition}] = r
			st.mu.Unlock()
		}
	}
	if st.s.Concurrency == 1 || len(parts) == 1 {
		for _, p := range parts {
			do(p)
		}
		return
	}
	sem := make(chan struct{}, st.s.Concurrency)
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			do(p)
		}()
	}
	wg.Wait()
}

// handleRecord runs the handler with the retry rules; it reports whether the record is done
// (handled or dead-lettered) — false only when ctx ended first.
func (st *stageRun) handleRecord(ctx context.Context, r *kgo.Record) bool {
	rec := &Record{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Key: r.Key, Value: r.Value, Headers: headerMap(r.Headers), Timestamp: r.Timestamp,
	}
	isDLQ := r.Topic == event.TopicDLQ
	env, err := event.Decode(r.Value)
	switch {
	case isDLQ:
		// Never dead-letter the dead letters: hand them over as they are.
	case err != nil:
		return st.deadLetter(ctx, r, err.Error())
	case isEventTopic(r.Topic) && event.TopicOf(env.Type) != r.Topic:
		return st.deadLetter(ctx, r, fmt.Sprintf("%v: event type %q belongs on %s, not %s", event.ErrMalformed, env.Type, event.TopicOf(env.Type), r.Topic))
	}
	if err == nil {
		rec.Env = env
	}

	attempts := 0
	transientBackoff := retryBackoffMin
	for {
		err := st.call(ctx, rec)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if errors.Is(err, ErrTransient) {
			if transientBackoff == retryBackoffMin {
				// Entering a pause that may last: checkpoint what is already done (we still own
				// the partitions: rebalances wait for this batch), never the failing record.
				if cerr := st.commit(ctx); cerr != nil && ctx.Err() == nil {
					st.log.Warn("commit before pausing failed", "err", cerr)
				}
			}
			st.log.Warn("transient failure; pausing and retrying the same record",
				"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "backoff", transientBackoff, "err", err)
			if !sleepCtx(ctx, transientBackoff) {
				return false
			}
			transientBackoff = min(transientBackoff*2, retryBackoffMax)
			continue
		}
		attempts++
		if attempts >= st.s.MaxAttempts {
			reason := fmt.Sprintf("handler failed %d times: %v", attempts, err)
			if isDLQ {
				st.log.Error("handler failed on a dead letter; skipping it", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
				return true
			}
			return st.deadLetter(ctx, r, reason)
		}
		backoff := min(retryBackoffMin<<(attempts-1), retryBackoffMax)
		st.log.Warn("handler failed; retrying", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset,
			"attempt", attempts, "max_attempts", st.s.MaxAttempts, "err", err)
		if !sleepCtx(ctx, backoff) {
			return false
		}
	}
}

// call runs the handler, turning a panic into an error.
func (st *stageRun) call(ctx context.Context, rec *Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return st.s.Handle(ctx, rec)
}

// deadLetter produces the record to gibsey.dlq with the reason and origin in headers,
// retrying until it succeeds or ctx ends (a record is never skipped without being
// dead-lettered). It reports whether the record was dead-lettered.
func (st *stageRun) deadLetter(ctx context.Context, r *kgo.Record, reason string) bool {
	if len(reason) > 1000 {
		reason = reason[:1000] + "…"
	}
	headers := make([]kgo.RecordHeader, 0, len(r.Headers)+5)
	for _, h := range r.Headers {
		if !strings.HasPrefix(h.Key, "x-dlq-") {
			headers = append(headers, h)
		}
	}
	headers = append(headers,
		kgo.RecordHeader{Key: event.HeaderDLQReason, Value: []byte(reason)},
		kgo.RecordHeader{Key: event.HeaderDLQTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: event.HeaderDLQPartition, Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: event.HeaderDLQOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
		kgo.RecordHeader{Key: event.HeaderDLQStage, Value: []byte(st.s.Name)},
	)
	backoff := retryBackoffMin
	for {
		_, err := st.b.produce(ctx, &kgo.Record{Topic: event.TopicDLQ, Key: r.Key, Value: r.Value, Headers: headers})
		if err == nil {
			st.log.Error("record dead-lettered", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset,
				"key", string(r.Key), "reason", reason)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		st.log.Warn("dead-letter produce failed; retrying", "topic", r.Topic, "offset", r.Offset, "err", err)
		if !sleepCtx(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, retryBackoffMax)
	}
}

// commit synchronously commits the last done record of every partition.
func (st *stageRun) commit(ctx context.Context) error {
	st.commitMu.Lock()
	defer st.commitMu.Unlock()
	st.mu.Lock()
	recs := make([]*kgo.Record, 0, len(st.pending))
	for _, r := range st.pending {
		recs = append(recs, r)
	}
	st.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	if err := st.cl.CommitRecords(ctx, recs...); err != nil {
		return err
	}
	committed := map[string]map[int32]int64{}
	st.mu.Lock()
	for _, r := range recs {
		tp := topicPartition{r.Topic, r.Partition}
		if st.pending[tp] == r {
			delete(st.pending, tp)
		}
		if committed[r.Topic] == nil {
			committed[r.Topic] = map[int32]int64{}
		}
		committed[r.Topic][r.Partition] = r.Offset + 1
	}
	st.mu.Unlock()
	if st.s.OnCommit != nil {
		st.s.OnCommit(committed)
	}
	return nil
}

// onRevoked commits what is done before partitions move to another member.
func (st *stageRun) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if err := st.commit(ctx); err != nil {
		st.log.Warn("commit on revoke failed; those records will be delivered again", "err", err)
	}
	st.forget(revoked)
}

// onLost drops what cannot be committed any more (the group moved on without us).
func (st *stageRun) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	st.log.Warn("partitions lost; uncommitted records will be delivered again", "partitions", lost)
	st.forget(lost)
}

func (st *stageRun) forget(parts map[string][]int32) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for t, ps := range parts {
		for _, p := range ps {
			delete(st.pending, topicPartition{t, p})
		}
	}
}

func isEventTopic(t string) bool {
	for _, et := range event.Topics {
		if et == t {
			return true
		}
	}
	return false
}

func headerMap(hs []kgo.RecordHeader) map[string]string {
	m := make(map[string]string, len(hs))
	for _, h := range hs {
		m[h.Key] = string(h.Value)
	}
	return m
}

// sleepCtx sleeps d or until ctx ends; it reports whether the full sleep happened.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
