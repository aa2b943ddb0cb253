// Package bus is Gibsey's Kafka layer, built on franz-go: it produces envelopes (key =
// session_id, x-* headers, idempotent, acks=all), runs consumer-group stages that commit an
// offset only after the record's handler succeeded, dead-letters poison records to
// gibsey.dlq, and creates and checks the ten topics at startup.
//
// The same code talks to real Apache Kafka (Config.Brokers set) and to an embedded,
// in-process broker (franz-go's kfake, persisted under Config.DataDir so topics, records and
// committed offsets survive restarts; it listens on 127.0.0.1 so kcat can connect too).
//
// The bus builds on host/event only; it knows nothing of the store.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gibsey/gibsey/host/event"
)

// Defaults of Config.
const (
	DefaultPartitions         int32 = 6
	DefaultEmbeddedPartitions int32 = 3
	DefaultReplication        int16 = 1
	DefaultConnectTimeout           = 20 * time.Second
	DefaultClientID                 = "gibsey"
)

// Config says which Kafka to use and how to set it up.
type Config struct {
	// Brokers are the seed brokers (host:port) of a real cluster; empty means embedded.
	Brokers []string
	// DataDir is where the embedded broker keeps its data (required when embedded).
	DataDir string
	// EmbeddedPort pins the embedded broker's port on 127.0.0.1; 0 picks a free one.
	EmbeddedPort int
	// Partitions of the topics Open creates (default 6 on real Kafka, 3 embedded).
	Partitions int32
	// Replication factor of the topics Open creates (default 1).
	Replication int16
	// ClientID names this process to the brokers (default "gibsey").
	ClientID string
	// Security is TLS and SASL for a real cluster.
	Security Security
	// ConnectTimeout bounds how long Open waits for the brokers (default 20 s).
	ConnectTimeout time.Duration
	// Logger receives the bus's logs (default slog.Default()).
	Logger *slog.Logger
}

// Bus is an open connection to Kafka (real or embedded): a producer, an admin client, and the
// factory of consumer stages. It is safe for concurrent use.
type Bus struct {
	cfg      Config
	log      *slog.Logger
	brokers  []string
	baseOpts []kgo.Opt
	cluster  *kfake.Cluster // embedded broker, nil on real Kafka
	client   *kgo.Client    // producer + metadata
	admin    *kadm.Client

	closeOnce sync.Once
	closeErr  error
}

// Open connects to the brokers (or starts the embedded one), waits until they answer
// (bounded by ConnectTimeout), and creates or checks the ten topics of event.Topics (see
// EnsureTopics for the rules).
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.Replication == 0 {
		cfg.Replication = DefaultReplication
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Partitions < 0 {
		return nil, fmt.Errorf("kafka partitions must be at least 1, got %d", cfg.Partitions)
	}
	if cfg.Replication < 1 {
		return nil, fmt.Errorf("kafka replication factor must be at least 1, got %d", cfg.Replication)
	}
	secOpts, err := cfg.Security.ClientOptions()
	if err != nil {
		return nil, err
	}
	b := &Bus{cfg: cfg, log: cfg.Logger.With("component", "bus")}

	if len(cfg.Brokers) == 0 {
		if cfg.DataDir == "" {
			return nil, errors.New("embedded kafka needs a data directory (Config.DataDir / --data)")
		}
		if cfg.Partitions == 0 {
			b.cfg.Partitions = DefaultEmbeddedPartitions
		}
		if cfg.Security != (Security{}) {
			return nil, errors.New("kafka TLS/SASL settings apply to real brokers only; the embedded broker is plaintext on 127.0.0.1")
		}
		opts := []kfake.Opt{
			kfake.NumBrokers(1),
			kfake.DataDir(cfg.DataDir),
			kfake.DefaultNumPartitions(int(b.cfg.Partitions)),
			kfake.ClusterID("gibsey-embedded"),
		}
		if cfg.EmbeddedPort > 0 {
			opts = append(opts, kfake.Ports(cfg.EmbeddedPort))
		}
		c, err := kfake.NewCluster(opts...)
		if err != nil {
			return nil, fmt.Errorf("start embedded kafka in %s: %w", cfg.DataDir, err)
		}
		b.cluster = c
		b.brokers = c.ListenAddrs()
		b.log.Info("embedded kafka started", "addr", strings.Join(b.brokers, ","), "data", cfg.DataDir)
	} else {
		for _, br := range cfg.Brokers {
			if _, _, err := net.SplitHostPort(br); err != nil {
				return nil, fmt.Errorf("kafka broker address %q: want host:port", br)
			}
		}
		if cfg.Partitions == 0 {
			b.cfg.Partitions = DefaultPartitions
		}
		b.brokers = append([]string(nil), cfg.Brokers...)
	}

	b.baseOpts = append([]kgo.Opt{
		kgo.SeedBrokers(b.brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.DialTimeout(5 * time.Second),
		kgo.WithLogger(kgoLogger{b.log}),
	}, secOpts...)

	client, err := kgo.NewClient(append(append([]kgo.Opt(nil), b.baseOpts...),
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotent producer needs acks=all; it is the default, stated here
		kgo.ProducerLinger(0),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), // murmur2 on the key, like the Java client
	)...)
	if err != nil {
		b.closeEmbedded()
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	b.client = client
	b.admin = kadm.NewClient(client)

	if err := b.waitReachable(ctx); err != nil {
		b.Close()
		return nil, err
	}
	if err := b.EnsureTopics(ctx, event.Topics); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// waitReachable pings until a broker answers, an authentication/authorization error comes
// back, or ConnectTimeout passes.
func (b *Bus) waitReachable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ConnectTimeout)
	defer cancel()
	var last error
	for {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		last = b.client.Ping(pctx)
		pcancel()
		if last == nil {
			return nil
		}
		var ke *kerr.Error
		if errors.As(last, &ke) && !ke.Retriable {
			return fmt.Errorf("kafka brokers %s refused the connection: %w (check the TLS/SASL settings: %s)",
				strings.Join(b.brokers, ","), last, b.cfg.Security)
		}
		select {
		case <-ctx.Done():
			sec := ""
			if b.cfg.Security != (Security{}) {
				sec = " (connecting with " + b.cfg.Security.String() + ": check the TLS/SASL settings too)"
			}
			return fmt.Errorf("kafka brokers %s unreachable after %s: %v%s", strings.Join(b.brokers, ","), b.cfg.ConnectTimeout, last, sec)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Brokers returns the broker addresses in use: the seeds given, or the embedded broker's
// 127.0.0.1 address.
func (b *Bus) Brokers() []string { return append([]string(nil), b.brokers...) }

// Embedded reports whether the bus runs its own in-process broker.
func (b *Bus) Embedded() bool { return b.cluster != nil }

// Admin returns an admin client on the bus's connection (topics, groups, offsets).
func (b *Bus) Admin() *kadm.Client { return b.admin }

// ClientOptions returns the connection options of the bus (seed brokers, client id, TLS,
// SASL) for callers that need their own franz-go client, such as tests and tools.
func (b *Bus) ClientOptions() []kgo.Opt { return append([]kgo.Opt(nil), b.baseOpts...) }

// Ping reports whether a broker answers (for /readyz).
func (b *Bus) Ping(ctx context.Context) error {
	if err := b.client.Ping(ctx); err != nil {
		return fmt.Errorf("kafka brokers %s: %w", strings.Join(b.brokers, ","), err)
	}
	return nil
}

// Produce sends an envelope to its type's topic, keyed by session_id, with the x-* headers
// of event.HeadersFor plus extra, and waits for the brokers' acknowledgement (acks=all,
// idempotent). An envelope that does not validate is refused before anything is sent.
func (b *Bus) Produce(ctx context.Context, env event.Envelope, extra map[string]string) error {
	if err := env.Validate(); err != nil {
		return fmt.Errorf("produce %s: invalid envelope: %w", env.Type, err)
	}
	topic := event.TopicOf(env.Type)
	value, err := env.Marshal()
	if err != nil {
		return fmt.Errorf("produce %s: %w", env.Type, err)
	}
	headers := event.HeadersFor(env)
	for k, v := range extra {
		headers[k] = v
	}
	return b.ProduceRaw(ctx, topic, []byte(env.SessionID), value, headers)
}

// ProduceRaw sends one record as given and waits for its acknowledgement. It is for tests,
// tools and the dead-letter path; everything else uses Produce.
func (b *Bus) ProduceRaw(ctx context.Context, topic string, key, value []byte, headers map[string]string) error {
	_, err := b.produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value, Headers: kgoHeaders(headers)})
	return err
}

// ProduceRawAt is ProduceRaw that also returns where the record landed.
func (b *Bus) ProduceRawAt(ctx context.Context, topic string, key, value []byte, headers map[string]string) (partition int32, offset int64, err error) {
	r, err := b.produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value, Headers: kgoHeaders(headers)})
	if err != nil {
		return -1, -1, err
	}
	return r.Partition, r.Offset, nil
}

func (b *Bus) produce(ctx context.Context, r *kgo.Record) (*kgo.Record, error) {
	if r.Topic == "" {
		return nil, errors.New("produce: no topic")
	}
	res := b.client.ProduceSync(ctx, r)
	if err := res.FirstErr(); err != nil {
		return nil, fmt.Errorf("produce to %s: %w", r.Topic, err)
	}
	return r, nil
}

func kgoHeaders(h map[string]string) []kgo.RecordHeader {
	if len(h) == 0 {
		return nil
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]kgo.RecordHeader, 0, len(keys))
	for _, k := range keys {
		out = append(out, kgo.RecordHeader{Key: k, Value: []byte(h[k])})
	}
	return out
}

// Close flushes and closes the producer and stops the embedded broker (which saves its
// state to DataDir). Stages should be stopped (their contexts cancelled and Run returned)
// before Close.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		if b.client != nil {
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := b.client.Flush(fctx); err != nil {
				b.closeErr = fmt.Errorf("flush producer: %w", err)
			}
			cancel()
			b.client.Close()
		}
		b.closeEmbedded()
	})
	return b.closeErr
}

func (b *Bus) closeEmbedded() {
	if b.cluster != nil {
		b.cluster.Close()
		b.log.Info("embedded kafka stopped", "data", b.cfg.DataDir)
	}
}

// kgoLogger routes franz-go's own logs (warnings and errors only) to slog.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	switch level {
	case kgo.LogLevelError:
		k.l.Error("kafka client: "+msg, keyvals...)
	case kgo.LogLevelWarn:
		k.l.Warn("kafka client: "+msg, keyvals...)
	default:
		k.l.Debug("kafka client: "+msg, keyvals...)
	}
}
