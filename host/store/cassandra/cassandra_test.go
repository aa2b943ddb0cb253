package cassandra

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/host/store/storetest"
)

// The tests against a real cluster run when GIBSEY_TEST_CASSANDRA names it (host:port,
// e.g. 127.0.0.1:9042). TestMain creates one fresh keyspace for the whole test binary
// (schema changes take seconds per table on Cassandra) and drops it at the end.
var (
	testHosts     string
	testCfg       Config
	firstMigrated []int
	shared        *Store
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	testHosts = os.Getenv("GIBSEY_TEST_CASSANDRA")
	if testHosts == "" {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	testCfg = Config{
		Hosts:      []string{testHosts},
		Keyspace:   fmt.Sprintf("gibsey_test_%d_%d", time.Now().Unix(), rand.Intn(1e6)),
		Dimensions: storetest.Dims,
		// Generous: the machine is small and shared, and Cassandra's schema changes are slow.
		Timeout: 30 * time.Second,
	}
	var err error
	firstMigrated, err = Migrate(ctx, testCfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cassandra tests: migrate keyspace %s on %s: %v\n", testCfg.Keyspace, testHosts, err)
		return 1
	}
	shared, err = Open(ctx, testCfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cassandra tests: open: %v\n", err)
		return 1
	}
	code := m.Run()
	dropCtx, dropCancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer dropCancel()
	if err := shared.sess.Query(`DROP KEYSPACE IF EXISTS ` + testCfg.Keyspace).ExecContext(dropCtx); err != nil {
		fmt.Fprintf(os.Stderr, "cassandra tests: drop keyspace %s: %v\n", testCfg.Keyspace, err)
	}
	shared.Close()
	return code
}

func needCassandra(t *testing.T) {
	t.Helper()
	if testHosts == "" {
		t.Skip("GIBSEY_TEST_CASSANDRA is not set (e.g. 127.0.0.1:9042): skipping the tests against a real Cassandra (make test sets it)")
	}
}

// sharedStore hands the suite the test binary's store; closing it is TestMain's job.
type sharedStore struct{ *Store }

func (sharedStore) Close() error { return nil }

func TestConformance(t *testing.T) {
	needCassandra(t)
	storetest.Run(t, func(t *testing.T) store.Store { return sharedStore{shared} })
}

func TestMigrationsAreRecordedAndRunOnce(t *testing.T) {
	needCassandra(t)
	if !reflect.DeepEqual(firstMigrated, Versions()) {
		t.Fatalf("the first Migrate of a fresh keyspace applied %v, want every version %v", firstMigrated, Versions())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	again, err := Migrate(ctx, testCfg)
	if err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if len(again) != 0 {
		t.Fatalf("Migrate of an up-to-date keyspace applied %v, want nothing", again)
	}
	var recorded []int
	iter := shared.sess.Query(`SELECT version FROM ` + testCfg.Keyspace + `.schema_migrations`).IterContext(ctx)
	var v int
	for iter.Scan(&v) {
		recorded = append(recorded, v)
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	if len(recorded) != len(Versions()) {
		t.Fatalf("schema_migrations holds %v, want %v", recorded, Versions())
	}
}

func TestOpenRefusesOtherDimensions(t *testing.T) {
	needCassandra(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := testCfg
	cfg.Dimensions = storetest.Dims + 1
	s, err := Open(ctx, cfg)
	if err == nil {
		s.Close()
		t.Fatal("Open with other Dimensions than the keyspace's passages table succeeded")
	}
	if !strings.Contains(err.Error(), "dimension") {
		t.Fatalf("Open with other Dimensions: %v; want an error about dimensions", err)
	}
}

// TestAppendConvergesAfterPartialFailure leaves an event claimed in events_by_id but
// missing from events_log (as a crash between the two writes would), then appends it
// again: the retry completes the append, reports it, and the log holds one row.
func TestAppendConvergesAfterPartialFailure(t *testing.T) {
	needCassandra(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sid, eid := event.NewID(), event.NewID()
	ts := time.Date(2025, 5, 6, 7, 8, 9, 123456000, time.UTC)
	err := shared.sess.Query(`INSERT INTO `+testCfg.Keyspace+`.events_by_id (session_id, event_id, ts, type, payload_json) VALUES (?, ?, ?, ?, ?)`,
		sid, eid, ts.UnixMicro(), event.TypeSymbol, `{"first":true}`).ExecContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if has, err := shared.HasEvent(ctx, sid, eid); err != nil || has {
		t.Fatalf("HasEvent of a claimed but unwritten event = %v, %v; want false", has, err)
	}
	retry := store.StoredEvent{SessionID: sid, EventID: eid, TS: ts.Add(time.Minute), Type: event.TypeSymbol, Payload: []byte(`{"retry":true}`)}
	ok, err := shared.AppendEvent(ctx, retry)
	if err != nil || !ok {
		t.Fatalf("retried append = %v, %v; want true (it completed the append)", ok, err)
	}
	ok, err = shared.AppendEvent(ctx, retry)
	if err != nil || ok {
		t.Fatalf("append after convergence = %v, %v; want false", ok, err)
	}
	evs, err := shared.Events(ctx, sid, "")
	if err != nil || len(evs) != 1 {
		t.Fatalf("Events = %d rows, %v; want 1", len(evs), err)
	}
	if !evs[0].TS.Equal(ts) || string(evs[0].Payload) != `{"first":true}` {
		t.Fatalf("the log row is %v %s, want the first claim's ts %v and payload", evs[0].TS, evs[0].Payload, ts)
	}
	if has, err := shared.HasEvent(ctx, sid, eid); err != nil || !has {
		t.Fatalf("HasEvent after convergence = %v, %v; want true", has, err)
	}
}

// TestOpenUnreachable needs no cluster: nothing listens on 127.0.0.1:1.
func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, Config{Hosts: []string{"127.0.0.1:1"}, Keyspace: "gibsey_unreachable", Timeout: 5 * time.Second})
	if err == nil {
		s.Close()
		t.Fatal("Open against a closed port succeeded")
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open against a closed port: %v; want an error wrapping store.ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "cassandra: cannot reach 127.0.0.1:1") {
		t.Fatalf("Open against a closed port: %q; want it to say \"cassandra: cannot reach 127.0.0.1:1\"", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Open against a closed port did not fail before the test's deadline")
	}
	if _, err := Migrate(ctx, Config{Hosts: []string{"127.0.0.1:1"}}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Migrate against a closed port: %v; want store.ErrUnavailable", err)
	}
}

func TestConfigValidation(t *testing.T) {
	cases := map[string]Config{
		"keyspace":    {Keyspace: "bad-name"},
		"consistency": {Consistency: "MOSTLY"},
		"replication": {Replication: "SimpleStrategy"},
		"dimensions":  {Dimensions: -3},
	}
	for field, cfg := range cases {
		_, err := cfg.withDefaults()
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("config with a bad %s: err = %v, want one naming %s", field, err, field)
		}
	}
	c, err := Config{Hosts: []string{"a:1, b:2", ""}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Hosts, []string{"a:1", "b:2"}) || c.Keyspace != DefaultKeyspace || c.Dimensions != DefaultDimensions || c.Timeout != DefaultTimeout {
		t.Fatalf("defaults: %+v", c)
	}
}
