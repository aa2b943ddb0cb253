package app

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gibsey/gibsey/host/bus"
	"github.com/gibsey/gibsey/host/store"
)

// Config is everything the host needs to run. Zero values are the embedded defaults.
type Config struct {
	// Addr is where the reader is served (default 127.0.0.1:8080).
	Addr string
	// DataDir holds the embedded broker's and the embedded store's data, the wasm
	// compilation cache and the refused-plugin records.
	DataDir string
	// CorpusDir is the corpus folder to ingest (pages/NNN*.md + characters.json).
	CorpusDir string
	// PluginsDir holds the actors (NAME.wasm + NAME.manifest.json).
	PluginsDir string
	// WatchPlugins installs new or changed actors dropped into PluginsDir while running.
	WatchPlugins bool

	// Kafka brokers; empty = the embedded broker.
	Kafka            []string
	KafkaPartitions  int32
	KafkaReplication int16
	KafkaSecurity    bus.Security

	// Cassandra contact points; empty = the embedded store.
	Cassandra            []string
	Keyspace             string
	CassandraConsistency string
	CassandraReplication string
	CassandraUser        string
	CassandraPassword    string

	// Optional OpenAI-compatible endpoints.
	EmbeddingsURL, EmbeddingsModel, EmbeddingsKey string
	EmbeddingsDims                                int
	GenerateURL, GenerateModel, GenerateKey       string

	// AdminToken protects the admin endpoints; empty disables them.
	AdminToken string
	// Voices answer every generated page (e.g. "commentary", "analyst").
	Voices []string
	// SnapshotEvery takes a session snapshot every N events.
	SnapshotEvery int
	// Debounce is the dial's debounce window.
	Debounce time.Duration
	// GroupPrefix prefixes the consumer group names (default "gibsey").
	GroupPrefix string
	// NewGroupsAtEnd makes consumer groups without committed offsets start at the end of
	// their topics instead of the beginning (tests sharing one real cluster).
	NewGroupsAtEnd bool
	// AllowedHosts for the cross-origin check (besides the request's own host).
	AllowedHosts []string

	Logger *slog.Logger

	// wrapStore, when set (tests only), wraps the opened store: fault injection such as a
	// store outage in embedded mode.
	wrapStore func(store.Store) store.Store
}

func (c *Config) defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.Keyspace == "" {
		c.Keyspace = "gibsey"
	}
	if c.CassandraConsistency == "" {
		c.CassandraConsistency = "LOCAL_QUORUM"
	}
	if c.CassandraReplication == "" {
		c.CassandraReplication = "{'class':'SimpleStrategy','replication_factor':1}"
	}
	if c.SnapshotEvery == 0 {
		c.SnapshotEvery = 20
	}
	if c.Debounce == 0 {
		c.Debounce = 400 * time.Millisecond
	}
	if c.GroupPrefix == "" {
		c.GroupPrefix = "gibsey"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate says what is wrong with a configuration before anything starts.
func (c *Config) Validate() error {
	var errs []string
	if c.DataDir == "" {
		errs = append(errs, "--data: a data directory is required (embedded broker and store, compilation cache)")
	}
	if c.CorpusDir == "" {
		errs = append(errs, "--corpus: a corpus folder is required")
	}
	if c.PluginsDir == "" {
		errs = append(errs, "--plugins: a plugins folder is required")
	}
	if err := c.KafkaSecurity.Validate(); err != nil {
		errs = append(errs, err.Error())
	}
	for _, v := range c.Voices {
		if v == "" || v == "page" || v == "symbols" {
			errs = append(errs, fmt.Sprintf("--voices: %q cannot answer pages", v))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// SplitList splits a comma-separated flag value, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && p != "embedded" {
			out = append(out, p)
		}
	}
	return out
}
