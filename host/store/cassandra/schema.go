package cassandra

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// migration is one versioned step of the schema. Its statements are idempotent (IF NOT
// EXISTS), so a step interrupted half-way is simply run again; a step's version is
// recorded in schema_migrations only after all its statements succeeded.
type migration struct {
	version int
	name    string
	stmts   func(ks string, dims int) []string
}

// migrations is the schema, in order. Never edit an applied step: add a new one.
var migrations = []migration{
	{1, "events_log and its idempotency table events_by_id", func(ks string, _ int) []string {
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + ks + `.events_log (
				session_id text,
				ts bigint,
				event_id text,
				type text,
				payload_json text,
				headers_json text,
				PRIMARY KEY ((session_id), ts, event_id)
			) WITH CLUSTERING ORDER BY (ts ASC, event_id ASC)
			AND comment = 'The append-only log of every session. ts is microseconds since the Unix epoch (UTC): the timestamp type keeps only milliseconds, which would reorder the events of one session within a millisecond.'`,
			`CREATE TABLE IF NOT EXISTS ` + ks + `.events_by_id (
				session_id text,
				event_id text,
				ts bigint,
				type text,
				payload_json text,
				headers_json text,
				appended_by text,
				PRIMARY KEY ((session_id), event_id)
			) WITH comment = 'Idempotency of events_log by (session_id, event_id): claimed with a lightweight transaction before the events_log row is written; appended_by is set once that row is stored.'`,
		}
	}},
	{2, "read models: state_snapshots, pages_index, pages_by_id, vault", func(ks string, _ int) []string {
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + ks + `.state_snapshots (
				session_id text,
				snapshot_ts timestamp,
				ui_state_json text,
				last_event_ts timestamp,
				cursor text,
				PRIMARY KEY ((session_id), snapshot_ts)
			) WITH CLUSTERING ORDER BY (snapshot_ts DESC)`,
			`CREATE TABLE IF NOT EXISTS ` + ks + `.pages_index (
				character_id text,
				section_id int,
				page_id text,
				session_id text,
				title text,
				excerpt text,
				embeddings_ref text,
				created_ts timestamp,
				PRIMARY KEY ((character_id, section_id), page_id)
			)`,
			`CREATE TABLE IF NOT EXISTS ` + ks + `.pages_by_id (
				page_id text PRIMARY KEY,
				character_id text,
				section_id int,
				session_id text,
				title text,
				excerpt text,
				embeddings_ref text,
				created_ts timestamp,
				text text
			)`,
			`CREATE TABLE IF NOT EXISTS ` + ks + `.vault (
				session_id text,
				saved_ts timestamp,
				page_id text,
				label text,
				notes text,
				PRIMARY KEY ((session_id), saved_ts, page_id)
			)`,
		}
	}},
	{3, "actor_state and meta", func(ks string, _ int) []string {
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + ks + `.actor_state (
				actor text,
				session_id text,
				key text,
				value blob,
				PRIMARY KEY ((actor, session_id), key)
			)`,
			`CREATE TABLE IF NOT EXISTS ` + ks + `.meta (
				key text PRIMARY KEY,
				value text
			)`,
		}
	}},
	{4, "RAG index: passages with a vector column and SAI indexes", func(ks string, dims int) []string {
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + ks + `.passages (
				id text PRIMARY KEY,
				character_id text,
				section_id int,
				page_number int,
				text text,
				embedding vector<float, ` + strconv.Itoa(dims) + `>
			)`,
			`CREATE CUSTOM INDEX IF NOT EXISTS passages_embedding_ann ON ` + ks + `.passages (embedding)
				USING 'StorageAttachedIndex' WITH OPTIONS = {'similarity_function': 'COSINE'}`,
			`CREATE CUSTOM INDEX IF NOT EXISTS passages_character_id ON ` + ks + `.passages (character_id)
				USING 'StorageAttachedIndex'`,
			`CREATE CUSTOM INDEX IF NOT EXISTS passages_section_id ON ` + ks + `.passages (section_id)
				USING 'StorageAttachedIndex'`,
		}
	}},
}

// Versions lists the versions of every migration, in order.
func Versions() []int {
	out := make([]int, len(migrations))
	for i, m := range migrations {
		out[i] = m.version
	}
	return out
}

var keyspaceRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,47}$`)

// Migrate connects, creates the keyspace when missing and applies the migrations not yet
// recorded in its schema_migrations table. It returns the versions it applied (none when
// the schema is up to date).
func Migrate(ctx context.Context, cfg Config) (applied []int, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	sess, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	r := &runner{sess: sess, retries: defaultRetries}
	return migrate(ctx, r, cfg)
}

func migrate(ctx context.Context, r *runner, cfg Config) ([]int, error) {
	ks := cfg.Keyspace
	ddl := func(what, stmt string) error {
		return r.do(ctx, what, func(ctx context.Context) error {
			return r.sess.Query(stmt).ExecContext(ctx)
		})
	}
	if err := ddl("create keyspace "+ks, `CREATE KEYSPACE IF NOT EXISTS `+ks+` WITH replication = `+cfg.Replication); err != nil {
		return nil, err
	}
	if err := ddl("create "+ks+".schema_migrations", `CREATE TABLE IF NOT EXISTS `+ks+`.schema_migrations (
		version int PRIMARY KEY,
		name text,
		applied_at timestamp
	)`); err != nil {
		return nil, err
	}
	if err := r.sess.AwaitSchemaAgreement(ctx); err != nil {
		return nil, r.wrap("await schema agreement", err)
	}
	done := map[int]bool{}
	err := r.do(ctx, "read "+ks+".schema_migrations", func(ctx context.Context) error {
		iter := r.sess.Query(`SELECT version FROM ` + ks + `.schema_migrations`).Consistency(gocql.Quorum).IterContext(ctx)
		var v int
		for iter.Scan(&v) {
			done[v] = true
		}
		return iter.Close()
	})
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range migrations {
		if done[m.version] {
			continue
		}
		for i, stmt := range m.stmts(ks, cfg.Dimensions) {
			if err := ddl(fmt.Sprintf("migration %d (%s), statement %d", m.version, m.name, i+1), stmt); err != nil {
				return applied, err
			}
		}
		if err := r.sess.AwaitSchemaAgreement(ctx); err != nil {
			return applied, r.wrap("await schema agreement", err)
		}
		err := r.do(ctx, fmt.Sprintf("record migration %d", m.version), func(ctx context.Context) error {
			return r.sess.Query(`INSERT INTO `+ks+`.schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, time.Now()).Consistency(gocql.Quorum).ExecContext(ctx)
		})
		if err != nil {
			return applied, err
		}
		applied = append(applied, m.version)
	}
	sort.Ints(applied)
	return applied, nil
}

var vectorTypeRe = regexp.MustCompile(`^vector<float,\s*(\d+)>$`)

// checkDimensions verifies that the passages table's embedding column has cfg.Dimensions.
func checkDimensions(ctx context.Context, r *runner, cfg Config) error {
	var typ string
	err := r.do(ctx, "read the schema of passages", func(ctx context.Context) error {
		return r.sess.Query(`SELECT type FROM system_schema.columns WHERE keyspace_name = ? AND table_name = 'passages' AND column_name = 'embedding'`,
			strings.ToLower(cfg.Keyspace)).ScanContext(ctx, &typ)
	})
	if err != nil {
		return err
	}
	m := vectorTypeRe.FindStringSubmatch(typ)
	if m == nil {
		return fmt.Errorf("cassandra: %s.passages.embedding has type %q, want vector<float, %d>", cfg.Keyspace, typ, cfg.Dimensions)
	}
	if n, _ := strconv.Atoi(m[1]); n != cfg.Dimensions {
		return fmt.Errorf("cassandra: %s.passages holds %d-dimensional embeddings but the store is configured for %d (Dimensions): use another keyspace or the matching embedder", cfg.Keyspace, n, cfg.Dimensions)
	}
	return nil
}
