// Command gibsey is the Gibsey host: `gibsey serve` plays the novel (embedded by default, or
// on real Kafka and Cassandra), `gibsey migrate` applies the Cassandra schema, and
// `gibsey actor …` is the author's loop (new, build, run, upload, rollback).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gibsey/gibsey/host/app"
	"github.com/gibsey/gibsey/host/authoring"
	"github.com/gibsey/gibsey/host/bus"
	"github.com/gibsey/gibsey/host/rag"
	"github.com/gibsey/gibsey/host/store/cassandra"
)

const usage = `gibsey — an interactive novel played as an event-driven show

usage:
  gibsey serve   [flags]   serve the reader (embedded Kafka and store unless --kafka/--cassandra)
  gibsey migrate [flags]   apply the Cassandra schema migrations and exit
  gibsey actor   ...       the author's loop: new, build, run, upload, rollback (gibsey actor -h)

Every flag has a GIBSEY_* environment equivalent (--kafka-sasl-user -> GIBSEY_KAFKA_SASL_USER).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "migrate":
		return migrate(args[1:], stdout, stderr)
	case "actor":
		return authoring.Main(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "gibsey: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// flags binds the serve/migrate flags to a Config, with GIBSEY_* environment defaults.
type flags struct {
	fs                                *flag.FlagSet
	cfg                               app.Config
	kafka, cassandra, voices, allowed string
	partitions, replication           int
	saslMech                          string
	logLevel                          string
}

func newFlags(name string, stderr io.Writer) *flags {
	f := &flags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	s := func(p *string, n, def, help string) { f.fs.StringVar(p, n, def, help) }
	i := func(p *int, n string, def int, help string) { f.fs.IntVar(p, n, def, help) }
	b := func(p *bool, n string, def bool, help string) { f.fs.BoolVar(p, n, def, help) }
	c := &f.cfg
	s(&c.Addr, "addr", "127.0.0.1:8080", "listen address of the reader")
	s(&c.DataDir, "data", ".data", "data directory (embedded broker and store, compilation cache)")
	s(&c.CorpusDir, "corpus", "examples/corpus", "corpus folder (pages/NNN*.md + characters.json)")
	s(&c.PluginsDir, "plugins", "bin/plugins", "actors folder (NAME.wasm + NAME.manifest.json)")
	b(&c.WatchPlugins, "watch-plugins", true, "install actors dropped into the plugins folder while running")
	s(&f.kafka, "kafka", "embedded", "Kafka brokers host:port,… or 'embedded'")
	i(&f.partitions, "kafka-partitions", 0, "partitions of topics the host creates (0: 6 real, 3 embedded)")
	i(&f.replication, "kafka-replication", 1, "replication factor of topics the host creates")
	b(&c.KafkaSecurity.TLS, "kafka-tls", false, "connect to Kafka over TLS")
	s(&c.KafkaSecurity.TLSCAFile, "kafka-tls-ca", "", "PEM CA bundle for Kafka TLS")
	s(&c.KafkaSecurity.TLSCertFile, "kafka-tls-cert", "", "PEM client certificate for Kafka mTLS")
	s(&c.KafkaSecurity.TLSKeyFile, "kafka-tls-key", "", "PEM client key for Kafka mTLS")
	b(&c.KafkaSecurity.TLSInsecureSkipVerify, "kafka-tls-insecure", false, "skip Kafka TLS verification (testing only)")
	s(&f.saslMech, "kafka-sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	s(&c.KafkaSecurity.SASLUser, "kafka-sasl-user", "", "SASL user")
	s(&c.KafkaSecurity.SASLPassword, "kafka-sasl-password", "", "SASL password")
	s(&f.cassandra, "cassandra", "embedded", "Cassandra contact points host:port,… or 'embedded'")
	s(&c.Keyspace, "keyspace", "gibsey", "Cassandra keyspace")
	s(&c.CassandraConsistency, "cassandra-consistency", "LOCAL_QUORUM", "Cassandra consistency level")
	s(&c.CassandraReplication, "cassandra-replication", "{'class':'SimpleStrategy','replication_factor':1}", "keyspace replication (CQL map)")
	s(&c.CassandraUser, "cassandra-user", "", "Cassandra user")
	s(&c.CassandraPassword, "cassandra-password", "", "Cassandra password")
	s(&c.EmbeddingsURL, "embeddings-url", "", "OpenAI-compatible embeddings endpoint (default: the built-in hash embedder)")
	s(&c.EmbeddingsModel, "embeddings-model", "text-embedding-3-small", "embeddings model")
	s(&c.EmbeddingsKey, "embeddings-key", "", "embeddings API key")
	i(&c.EmbeddingsDims, "embeddings-dims", 0, "embedding dimensions of the endpoint")
	s(&c.GenerateURL, "generate-url", "", "OpenAI-compatible chat endpoint for the generate host function (default: offline composition)")
	s(&c.GenerateModel, "generate-model", "gpt-4o-mini", "generation model")
	s(&c.GenerateKey, "generate-key", "", "generation API key")
	s(&c.AdminToken, "admin-token", "", "bearer token of the admin endpoints (empty: admin disabled)")
	s(&f.voices, "voices", "commentary", "voices that answer every generated page (comma-separated; empty: none)")
	i(&c.SnapshotEvery, "snapshot-every", 20, "take a session snapshot every N events")
	f.fs.DurationVar(&c.Debounce, "debounce", 400*time.Millisecond, "dial debounce window")
	s(&c.GroupPrefix, "group-prefix", "gibsey", "prefix of the consumer group names (hosts of one deployment share it; separate deployments on one cluster need their own)")
	s(&f.allowed, "allowed-hosts", "", "extra origins allowed to POST (comma-separated)")
	s(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	return f
}

func (f *flags) parse(args []string) error {
	// GIBSEY_* environment variables set the defaults; flags on the command line win.
	var bad []string
	f.fs.VisitAll(func(fl *flag.Flag) {
		name := "GIBSEY_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if err := fl.Value.Set(v); err != nil {
				bad = append(bad, fmt.Sprintf("%s: invalid value %q: %v", name, v, err))
			}
		}
	})
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.cfg.SnapshotEvery < 1 {
		return fmt.Errorf("--snapshot-every: must be at least 1, got %d", f.cfg.SnapshotEvery)
	}
	if f.cfg.Debounce < 0 || f.cfg.Debounce > 10*time.Second {
		return fmt.Errorf("--debounce: must be between 0 and 10s, got %s", f.cfg.Debounce)
	}
	if f.partitions < 0 || f.replication < 1 {
		return fmt.Errorf("--kafka-partitions must be >= 0 and --kafka-replication >= 1")
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(f.fs.Args(), " "))
	}
	c := &f.cfg
	c.Kafka = app.SplitList(f.kafka)
	c.Cassandra = app.SplitList(f.cassandra)
	c.Voices = app.SplitList(f.voices)
	c.AllowedHosts = app.SplitList(f.allowed)
	c.KafkaPartitions = int32(f.partitions)
	c.KafkaReplication = int16(f.replication)
	if f.saslMech != "" {
		m, err := bus.ParseSASLMechanism(f.saslMech)
		if err != nil {
			return err
		}
		c.KafkaSecurity.SASLMechanism = m
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	return c.Validate()
}

func serve(args []string, stderr io.Writer) int {
	f := newFlags("gibsey serve", stderr)
	if err := f.parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "gibsey serve:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Serve(ctx, f.cfg); err != nil {
		fmt.Fprintln(stderr, "gibsey serve:", err)
		return 1
	}
	return 0
}

func migrate(args []string, stdout, stderr io.Writer) int {
	f := newFlags("gibsey migrate", stderr)
	if err := f.parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "gibsey migrate:", err)
		return 2
	}
	if len(f.cfg.Cassandra) == 0 {
		fmt.Fprintln(stderr, "gibsey migrate: --cassandra host:port is required (the embedded store needs no migrations)")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := cassandra.Config{Hosts: f.cfg.Cassandra, Keyspace: f.cfg.Keyspace, Consistency: f.cfg.CassandraConsistency,
		Replication: f.cfg.CassandraReplication, Username: f.cfg.CassandraUser, Password: f.cfg.CassandraPassword,
		Dimensions: rag.NewHashEmbedder().Dimensions()}
	if f.cfg.EmbeddingsURL != "" && f.cfg.EmbeddingsDims > 0 {
		cfg.Dimensions = f.cfg.EmbeddingsDims
	}
	applied, err := cassandra.Migrate(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "gibsey migrate:", err)
		return 1
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "keyspace %s is up to date\n", cfg.Keyspace)
	} else {
		fmt.Fprintf(stdout, "keyspace %s: applied migrations %v\n", cfg.Keyspace, applied)
	}
	return 0
}
