package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// uniqueSuffix keeps names of concurrent or repeated runs apart.
func uniqueSuffix() string {
	return fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000_000)
}

// TestKafkaTopicProduceConsume creates a topic on the real broker, produces
// records and reads them back in order.
func TestKafkaTopicProduceConsume(t *testing.T) {
	addr := os.Getenv("GIBSEY_TEST_KAFKA")
	if addr == "" {
		t.Skip("GIBSEY_TEST_KAFKA not set (e.g. 127.0.0.1:9092; start with bin/gibsey-services up)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topic := "gibsey.services.test." + uniqueSuffix()

	admCl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	created, err := adm.CreateTopic(ctx, 2, 1, nil, topic)
	if err != nil || created.Err != nil {
		t.Fatalf("create topic %s: %v / %v", topic, err, created.Err)
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer dcancel()
		_, _ = adm.DeleteTopic(dctx, topic)
	}()

	prod, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...),
		kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	const n = 20
	for i := 0; i < n; i++ {
		r := &kgo.Record{Key: []byte("k"), Value: []byte(fmt.Sprintf("v%02d", i)), Partition: 1,
			Headers: []kgo.RecordHeader{{Key: "x-test", Value: []byte("yes")}}}
		if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce record %d: %v", i, err)
		}
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...),
		kgo.ConsumeTopics(topic), kgo.ConsumerGroup("gibsey-services-test-"+uniqueSuffix()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var got []string
	for len(got) < n {
		fetches := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before the deadline: %v", len(got), n, got)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			t.Fatalf("fetch errors: %v", errs)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Partition != 1 || len(r.Headers) != 1 || string(r.Headers[0].Value) != "yes" {
				t.Errorf("record %q: partition %d headers %v", r.Value, r.Partition, r.Headers)
			}
			got = append(got, string(r.Value))
		})
	}
	for i, v := range got {
		if want := fmt.Sprintf("v%02d", i); v != want {
			t.Fatalf("record %d = %q, want %q (order within a partition)", i, v, want)
		}
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit offsets: %v", err)
	}
}

// cassandraSession opens a session on GIBSEY_TEST_CASSANDRA or skips.
func cassandraSession(t *testing.T) *gocql.Session {
	t.Helper()
	addr := os.Getenv("GIBSEY_TEST_CASSANDRA")
	if addr == "" {
		t.Skip("GIBSEY_TEST_CASSANDRA not set (e.g. 127.0.0.1:9042; start with bin/gibsey-services up)")
	}
	cluster := gocql.NewCluster(strings.Split(addr, ",")...)
	cluster.Timeout = 20 * time.Second
	cluster.ConnectTimeout = 10 * time.Second
	cluster.Consistency = gocql.One
	s, err := cluster.CreateSession()
	if err != nil {
		t.Fatalf("connect to Cassandra %s: %v", addr, err)
	}
	t.Cleanup(s.Close)
	return s
}

// createVectorTable makes a fresh keyspace with a vector table and an SAI
// cosine index, waits until the index is queryable, and drops the keyspace
// at the end of the test.
func createVectorTable(t *testing.T, s *gocql.Session, dim int) string {
	t.Helper()
	ks := "gibsey_services_test_" + uniqueSuffix()
	exec := func(cql string) {
		t.Helper()
		if err := s.Query(cql).Exec(); err != nil {
			t.Fatalf("%s: %v", cql, err)
		}
	}
	exec(fmt.Sprintf(`CREATE KEYSPACE %s WITH replication = {'class':'SimpleStrategy','replication_factor':1}`, ks))
	t.Cleanup(func() { _ = s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec() })
	exec(fmt.Sprintf(`CREATE TABLE %s.passages (id int PRIMARY KEY, body text, embedding vector<float, %d>)`, ks, dim))
	exec(fmt.Sprintf(`CREATE CUSTOM INDEX passages_ann ON %s.passages(embedding) USING 'StorageAttachedIndex' WITH OPTIONS = {'similarity_function':'COSINE'}`, ks))
	// The index builds asynchronously, even on an empty table.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var queryable bool
		err := s.Query(`SELECT is_queryable FROM system_views.sai_column_indexes WHERE keyspace_name = ? AND index_name = ?`,
			ks, "passages_ann").Scan(&queryable)
		if err == nil && queryable {
			return ks
		}
		if time.Now().After(deadline) {
			t.Fatalf("SAI index %s.passages_ann not queryable after 60 s (last err %v)", ks, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// unitVec returns a dim-long vector pointing mostly along axis i.
func unitVec(dim, i int) []float32 {
	v := make([]float32, dim)
	for j := range v {
		v[j] = 0.01
	}
	v[i%dim] = 1
	return v
}

// TestCassandraVectorANN checks what the RAG index needs: vector<float,N>,
// an SAI cosine index, and ORDER BY ... ANN OF returning the nearest rows.
func TestCassandraVectorANN(t *testing.T) {
	s := cassandraSession(t)
	var ver string
	if err := s.Query("SELECT release_version FROM system.local").Scan(&ver); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ver, "5.") {
		t.Fatalf("Cassandra release %s, want 5.x (vector type + SAI)", ver)
	}
	const dim = 8
	ks := createVectorTable(t, s, dim)
	for i := 0; i < dim; i++ {
		if err := s.Query(fmt.Sprintf(`INSERT INTO %s.passages (id, body, embedding) VALUES (?, ?, ?)`, ks),
			i, fmt.Sprintf("passage %d", i), unitVec(dim, i)).Exec(); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	query := unitVec(dim, 3)
	query[4] = 0.5 // second nearest: 4
	iter := s.Query(fmt.Sprintf(`SELECT id, body, similarity_cosine(embedding, ?) FROM %s.passages ORDER BY embedding ANN OF ? LIMIT 2`, ks),
		query, query).Iter()
	var ids []int
	var sims []float32
	var id int
	var body string
	var sim float32
	for iter.Scan(&id, &body, &sim) {
		ids = append(ids, id)
		sims = append(sims, sim)
	}
	if err := iter.Close(); err != nil {
		t.Fatalf("ANN query: %v", err)
	}
	if len(ids) != 2 || ids[0] != 3 || ids[1] != 4 {
		t.Fatalf("ANN nearest ids = %v, want [3 4]", ids)
	}
	if !(sims[0] > sims[1]) || sims[0] > 1.0001 || math.IsNaN(float64(sims[0])) {
		t.Errorf("similarities %v are not a descending cosine ranking", sims)
	}
	// The vector round-trips through the driver's vector type.
	var back []float32
	if err := s.Query(fmt.Sprintf(`SELECT embedding FROM %s.passages WHERE id = 5`, ks)).Scan(&back); err != nil {
		t.Fatal(err)
	}
	if len(back) != dim || back[5] != 1 {
		t.Errorf("embedding read back as %v", back)
	}
}

// randomVec returns a deterministic pseudo-random vector for id (realistic
// embeddings are spread out like this; near-tied vectors would make an
// approximate index legitimately return a neighbour instead).
func randomVec(dim, id int) []float32 {
	r := rand.New(rand.NewPCG(uint64(id), 42))
	v := make([]float32, dim)
	for j := range v {
		v[j] = float32(r.NormFloat64())
	}
	return v
}

// TestCassandraConcurrentVectorWrites writes many vectors from several
// goroutines at once (as the corpus ingest does) and checks every write
// succeeds and rows are found by ANN afterwards. On Cassandra 5.0.9 with the
// default concurrent_writes (32) on a 2-core machine this fails with
// "Number of outstanding pooled objects has gone beyond the limit of 3";
// the launcher's cassandra.yaml sets concurrent_writes: 2 to avoid it.
func TestCassandraConcurrentVectorWrites(t *testing.T) {
	s := cassandraSession(t)
	const dim, workers, perWorker = 64, 16, 25
	ks := createVectorTable(t, s, dim)
	insert := fmt.Sprintf(`INSERT INTO %s.passages (id, body, embedding) VALUES (?, ?, ?)`, ks)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				id := w*perWorker + i
				if err := s.Query(insert, id, "p", randomVec(dim, id)).Exec(); err != nil {
					errs <- fmt.Errorf("insert %d: %w", id, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var count int
	if err := s.Query(fmt.Sprintf(`SELECT count(*) FROM %s.passages`, ks)).Scan(&count); err != nil {
		t.Fatalf("count after concurrent writes (node down?): %v", err)
	}
	if count != workers*perWorker {
		t.Fatalf("count = %d, want %d", count, workers*perWorker)
	}
	// A row's own vector must come back among the nearest few (ANN is
	// approximate, so the test does not insist on rank 1).
	for _, id := range []int{0, 77, 399} {
		iter := s.Query(fmt.Sprintf(`SELECT id FROM %s.passages ORDER BY embedding ANN OF ? LIMIT 3`, ks), randomVec(dim, id)).Iter()
		var got []int
		var x int
		for iter.Scan(&x) {
			got = append(got, x)
		}
		if err := iter.Close(); err != nil {
			t.Fatalf("ANN for row %d: %v", id, err)
		}
		if !slices.Contains(got, id) {
			t.Errorf("ANN nearest 3 to row %d's own vector = %v", id, got)
		}
	}
}
