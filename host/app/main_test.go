package app

// The end-to-end tests of the host. They start whole Apps in-process (bus, store, corpus,
// actors, stages, web) behind httptest servers and act as a reader would: POST a cue, read
// the page from the SSE stream, read the session's events_log from the JSON API.
//
// Backends: every test that concerns Kafka or Cassandra runs on the embedded broker and
// store, and also on real services when GIBSEY_TEST_KAFKA (e.g. 127.0.0.1:9092) and/or
// GIBSEY_TEST_CASSANDRA (e.g. 127.0.0.1:9042) are set; otherwise the real runs skip with a
// message. On real Kafka the topics are shared with other tests and packages, so each App
// gets its own consumer-group prefix, starts new groups at the end of the topics, and is
// warmed up (a throwaway cue must come back as a page) before the test proper. On real
// Cassandra, the test binary uses its own keyspace, created here and dropped at the end.
//
// Plugins: GIBSEY_TEST_PLUGINS (the Makefile's bin/plugins), else built once per source
// hash by host/internal/wasmbuild.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/gibsey/gibsey/host/rag"
	"github.com/gibsey/gibsey/host/store/cassandra"
)

var (
	envKafka     = splitEnv("GIBSEY_TEST_KAFKA")
	envCassandra = splitEnv("GIBSEY_TEST_CASSANDRA")
	// testKeyspace is this test binary's keyspace on the real Cassandra.
	testKeyspace = fmt.Sprintf("gibsey_apptest_%d_%d", time.Now().Unix(), rand.IntN(1e6))
	// wasmCache is shared by every App of the binary (a fresh data dir would recompile the
	// actors each time: seconds per App on a small machine).
	wasmCache string
)

func splitEnv(name string) []string {
	var out []string
	for _, p := range strings.Split(os.Getenv(name), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gibsey-apptest-wasm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "app tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	wasmCache = dir
	if len(envCassandra) > 0 {
		// Create the keyspace and its schema once: schema changes take seconds per table.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		_, err := cassandra.Migrate(ctx, cassandra.Config{Hosts: envCassandra, Keyspace: testKeyspace,
			Dimensions: rag.NewHashEmbedder().Dimensions(), Timeout: 30 * time.Second})
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "app tests: create keyspace %s on %s: %v\n", testKeyspace, strings.Join(envCassandra, ","), err)
			return 1
		}
		defer dropKeyspace()
	}
	return m.Run()
}

func dropKeyspace() {
	cl := gocql.NewCluster(envCassandra...)
	cl.Timeout = 60 * time.Second
	cl.ConnectTimeout = 30 * time.Second
	sess, err := cl.CreateSession()
	if err != nil {
		fmt.Fprintf(os.Stderr, "app tests: drop keyspace %s: %v\n", testKeyspace, err)
		return
	}
	defer sess.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sess.Query(`DROP KEYSPACE IF EXISTS ` + testKeyspace).ExecContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "app tests: drop keyspace %s: %v\n", testKeyspace, err)
	}
}
