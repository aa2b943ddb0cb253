// Package cassandra is Gibsey's production event store: store.Store on Apache Cassandra 5.0
// with the gocql driver (github.com/apache/cassandra-gocql-driver/v2).
//
// Tables (keyspace configurable; see schema.go for the versioned migrations):
//
//	events_log      ((session_id), ts, event_id)       type, payload_json, headers_json
//	events_by_id    ((session_id), event_id)           idempotency claim of an event (LWT)
//	state_snapshots ((session_id), snapshot_ts)        ui_state_json, last_event_ts, cursor
//	pages_index     ((character_id, section_id), page_id)  session_id, title, excerpt, embeddings_ref, created_ts
//	pages_by_id     ((page_id))                        the page's index fields and its text
//	vault           ((session_id), saved_ts, page_id)  label, notes
//	actor_state     ((actor, session_id), key)         value
//	meta            ((key))                            value
//	passages        ((id))  character_id, section_id, page_number, text, embedding vector<float, N>
//	                with SAI indexes: embedding (COSINE, for ANN), character_id, section_id
//	schema_migrations ((version))                      name, applied_at
//
// Writes are idempotent upserts; AppendEvent is idempotent by (session_id, event_id)
// through a lightweight transaction on events_by_id (see AppendEvent). Statements are
// prepared by the driver on first use and cached. Timeouts and unavailability are retried
// with exponential backoff; errors that mean the cluster cannot be reached wrap
// store.ErrUnavailable, so that callers pause and retry instead of dead-lettering.
package cassandra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/uuid"

	"github.com/gibsey/gibsey/host/store"
)

// Defaults of Config.
const (
	DefaultHost        = "127.0.0.1:9042"
	DefaultKeyspace    = "gibsey"
	DefaultConsistency = "LOCAL_QUORUM"
	DefaultReplication = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
	DefaultDimensions  = 256
	DefaultTimeout     = 10 * time.Second
)

// Config says how to reach the cluster and how to lay out the keyspace.
type Config struct {
	// Hosts are contact points, "host" or "host:port" (port 9042 by default). Empty:
	// DefaultHost.
	Hosts []string
	// Keyspace is created when missing. Empty: DefaultKeyspace.
	Keyspace string
	// Consistency of reads and writes (ONE, LOCAL_QUORUM, QUORUM, ...). Empty:
	// DefaultConsistency. Lightweight transactions use LOCAL_SERIAL.
	Consistency string
	// Replication is the keyspace's replication map in CQL, used when the keyspace is
	// created, e.g. "{'class':'NetworkTopologyStrategy','dc1':3}". Empty: DefaultReplication.
	Replication string
	// Dimensions of the passages' embeddings (the vector column). 0: DefaultDimensions.
	Dimensions int
	// Timeout of one request and of connecting. 0: DefaultTimeout.
	Timeout time.Duration
	// Username and Password enable PasswordAuthenticator when Username is set.
	Username, Password string
}

func (c Config) withDefaults() (Config, error) {
	var hosts []string
	for _, h := range c.Hosts {
		for _, p := range strings.Split(h, ",") {
			if p = strings.TrimSpace(p); p != "" {
				hosts = append(hosts, p)
			}
		}
	}
	if len(hosts) == 0 {
		hosts = []string{DefaultHost}
	}
	c.Hosts = hosts
	if c.Keyspace == "" {
		c.Keyspace = DefaultKeyspace
	}
	if !keyspaceRe.MatchString(c.Keyspace) {
		return c, fmt.Errorf("cassandra: config: keyspace %q is not a valid name (a letter, then letters, digits or _, at most 48)", c.Keyspace)
	}
	c.Keyspace = strings.ToLower(c.Keyspace)
	if c.Consistency == "" {
		c.Consistency = DefaultConsistency
	}
	if _, err := gocql.ParseConsistencyWrapper(c.Consistency); err != nil {
		return c, fmt.Errorf("cassandra: config: consistency %q: %v", c.Consistency, err)
	}
	if c.Replication == "" {
		c.Replication = DefaultReplication
	}
	if r := strings.TrimSpace(c.Replication); !strings.HasPrefix(r, "{") || !strings.HasSuffix(r, "}") || strings.Contains(r, ";") {
		return c, fmt.Errorf("cassandra: config: replication %q must be a CQL map such as %s", c.Replication, DefaultReplication)
	}
	if c.Dimensions == 0 {
		c.Dimensions = DefaultDimensions
	}
	if c.Dimensions < 1 || c.Dimensions > 8192 {
		return c, fmt.Errorf("cassandra: config: dimensions %d must be between 1 and 8192", c.Dimensions)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c, nil
}

func withPort(h string) string {
	if _, _, err := net.SplitHostPort(h); err == nil {
		return h
	}
	return net.JoinHostPort(h, "9042")
}

// connect checks that some host answers on TCP (for a clear error when none does), then
// opens a driver session without a default keyspace: every statement names its table
// with the keyspace.
func connect(ctx context.Context, cfg Config) (*gocql.Session, error) {
	dialTimeout := cfg.Timeout
	if dialTimeout > 5*time.Second {
		dialTimeout = 5 * time.Second
	}
	var lastErr error
	reachable := false
	for _, h := range cfg.Hosts {
		d := net.Dialer{Timeout: dialTimeout}
		c, err := d.DialContext(ctx, "tcp", withPort(h))
		if err == nil {
			c.Close()
			reachable = true
			break
		}
		lastErr = err
	}
	if !reachable {
		return nil, fmt.Errorf("cassandra: cannot reach %s: %v: %w", strings.Join(cfg.Hosts, ","), lastErr, store.ErrUnavailable)
	}
	cons, _ := gocql.ParseConsistencyWrapper(cfg.Consistency)
	cl := gocql.NewCluster(cfg.Hosts...)
	cl.Consistency = cons
	cl.SerialConsistency = gocql.LocalSerial
	cl.Timeout = cfg.Timeout
	cl.ConnectTimeout = cfg.Timeout
	cl.ReconnectInterval = time.Second // bring a node that came back into use quickly
	cl.ReconnectionPolicy = &gocql.ConstantReconnectionPolicy{MaxRetries: 3, Interval: time.Second}
	cl.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	if cfg.Username != "" {
		cl.Authenticator = gocql.PasswordAuthenticator{Username: cfg.Username, Password: cfg.Password}
	}
	sess, err := cl.CreateSession()
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "authentication") || strings.Contains(msg, "Provided username") {
			return nil, fmt.Errorf("cassandra: connect to %s: %v", strings.Join(cfg.Hosts, ","), err)
		}
		return nil, fmt.Errorf("cassandra: cannot reach %s: %v: %w", strings.Join(cfg.Hosts, ","), err, store.ErrUnavailable)
	}
	return sess, nil
}

// ---- retries and error classes ----

const defaultRetries = 6

// runner executes statements with retries on transient errors.
type runner struct {
	sess    *gocql.Session
	retries int
}

// transient reports whether err is worth retrying: a timeout, an unavailable or
// overloaded node, a lost connection.
func transient(err error) bool {
	var re gocql.RequestError
	if errors.As(err, &re) {
		switch re.Code() {
		case gocql.ErrCodeUnavailable, gocql.ErrCodeOverloaded, gocql.ErrCodeBootstrapping,
			gocql.ErrCodeWriteTimeout, gocql.ErrCodeReadTimeout, gocql.ErrCodeCASWriteUnknown:
			return true
		}
		return false
	}
	switch {
	case errors.Is(err, gocql.ErrNoConnections), errors.Is(err, gocql.ErrTimeoutNoResponse),
		errors.Is(err, gocql.ErrConnectionClosed), errors.Is(err, gocql.ErrNoStreams),
		errors.Is(err, gocql.ErrTooManyTimeouts), errors.Is(err, gocql.ErrUnavailable),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << attempt
	if d > 2*time.Second {
		d = 2 * time.Second
	}
	return d/2 + time.Duration(rand.Int63n(int64(d)/2+1)) // jitter: [d/2, d]
}

// do runs fn, retrying transient failures with exponential backoff while ctx allows.
func (r *runner) do(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	var err error
	for attempt := 0; ; attempt++ {
		if err = fn(ctx); err == nil {
			return nil
		}
		if !transient(err) || attempt >= r.retries || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return r.wrap(op, err)
		case <-t.C:
		}
	}
	return r.wrap(op, err)
}

func (r *runner) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gocql.ErrNotFound) {
		return fmt.Errorf("cassandra: %s: %w", op, store.ErrNotFound)
	}
	if transient(err) {
		return fmt.Errorf("cassandra: %s: %v: %w", op, err, store.ErrUnavailable)
	}
	return fmt.Errorf("cassandra: %s: %w", op, err)
}

// ---- the store ----

// Store is the Cassandra backend. It is safe for concurrent use.
type Store struct {
	runner
	cfg Config
	ks  string
	q   statements
}

var _ store.Store = (*Store)(nil)

// Open connects to the cluster, runs the migrations, checks the vector dimensions,
// prepares every statement and returns the store. A cluster that cannot be reached is an error wrapping
// store.ErrUnavailable that says "cassandra: cannot reach <hosts>: ...".
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	sess, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{runner: runner{sess: sess, retries: defaultRetries}, cfg: cfg, ks: cfg.Keyspace}
	if _, err := migrate(ctx, &s.runner, cfg); err != nil {
		sess.Close()
		return nil, err
	}
	if err := checkDimensions(ctx, &s.runner, cfg); err != nil {
		sess.Close()
		return nil, err
	}
	s.q = newStatements(cfg.Keyspace)
	for _, stmt := range s.q.all() {
		err := s.do(ctx, "prepare statements", func(ctx context.Context) error {
			_, err := s.sess.StatementMetadata(ctx, stmt, cfg.Keyspace)
			return err
		})
		if err != nil {
			sess.Close()
			return nil, fmt.Errorf("%w\nstatement: %s", err, stmt)
		}
	}
	if err := s.Ping(ctx); err != nil {
		sess.Close()
		return nil, err
	}
	return s, nil
}

// Config returns the effective configuration (with defaults filled in).
func (s *Store) Config() Config { return s.cfg }

// Close closes the driver session.
func (s *Store) Close() error {
	s.sess.Close()
	return nil
}

// Ping runs a trivial query once (no retries).
func (s *Store) Ping(ctx context.Context) error {
	var v string
	if err := s.sess.Query(`SELECT release_version FROM system.local`).ScanContext(ctx, &v); err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

type statements struct {
	claimEvent, appendEvent, markAppended, eventByID, eventLogRow string
	events, eventsAfter                                           string
	pageByID, deleteCellRow, putCellRow, putPage, pagesByCell     string
	saveVault, vault                                              string
	putSnapshot, latestSnapshot                                   string
	getActor, putActor, getMeta, putMeta                          string
	putPassage, countPassages                                     string
	search                                                        [4]string // by filter: none, character, section, both
}

// all lists every statement, to prepare them at Open.
func (q statements) all() []string {
	out := []string{q.claimEvent, q.appendEvent, q.markAppended, q.eventByID, q.eventLogRow,
		q.events, q.eventsAfter, q.pageByID, q.deleteCellRow, q.putCellRow, q.putPage, q.pagesByCell,
		q.saveVault, q.vault, q.putSnapshot, q.latestSnapshot, q.getActor, q.putActor, q.getMeta, q.putMeta,
		q.putPassage, q.countPassages}
	return append(out, q.search[:]...)
}

func newStatements(ks string) statements {
	t := func(table string) string { return ks + "." + table }
	searchSel := `SELECT id, character_id, section_id, page_number, text, similarity_cosine(embedding, ?) FROM ` + t("passages")
	const ann = ` ORDER BY embedding ANN OF ? LIMIT ?`
	return statements{
		claimEvent:   `INSERT INTO ` + t("events_by_id") + ` (session_id, event_id, ts, type, payload_json, headers_json) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
		appendEvent:  `INSERT INTO ` + t("events_log") + ` (session_id, ts, event_id, type, payload_json, headers_json) VALUES (?, ?, ?, ?, ?, ?)`,
		markAppended: `UPDATE ` + t("events_by_id") + ` SET appended_by = ? WHERE session_id = ? AND event_id = ? IF appended_by = null`,
		eventByID:    `SELECT ts, appended_by FROM ` + t("events_by_id") + ` WHERE session_id = ? AND event_id = ?`,
		eventLogRow:  `SELECT event_id FROM ` + t("events_log") + ` WHERE session_id = ? AND ts = ? AND event_id = ?`,
		events:       `SELECT ts, event_id, type, payload_json, headers_json FROM ` + t("events_log") + ` WHERE session_id = ?`,
		eventsAfter:  `SELECT ts, event_id, type, payload_json, headers_json FROM ` + t("events_log") + ` WHERE session_id = ? AND (ts, event_id) > (?, ?)`,

		pageByID:      `SELECT page_id, character_id, section_id, session_id, title, excerpt, embeddings_ref, created_ts, text FROM ` + t("pages_by_id") + ` WHERE page_id = ?`,
		deleteCellRow: `DELETE FROM ` + t("pages_index") + ` WHERE character_id = ? AND section_id = ? AND page_id = ?`,
		putCellRow:    `INSERT INTO ` + t("pages_index") + ` (character_id, section_id, page_id, session_id, title, excerpt, embeddings_ref, created_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		putPage:       `INSERT INTO ` + t("pages_by_id") + ` (page_id, character_id, section_id, session_id, title, excerpt, embeddings_ref, created_ts, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		pagesByCell:   `SELECT page_id, character_id, section_id, session_id, title, excerpt, embeddings_ref, created_ts FROM ` + t("pages_index") + ` WHERE character_id = ? AND section_id = ?`,

		saveVault: `INSERT INTO ` + t("vault") + ` (session_id, saved_ts, page_id, label, notes) VALUES (?, ?, ?, ?, ?)`,
		vault:     `SELECT session_id, saved_ts, page_id, label, notes FROM ` + t("vault") + ` WHERE session_id = ?`,

		putSnapshot:    `INSERT INTO ` + t("state_snapshots") + ` (session_id, snapshot_ts, ui_state_json, last_event_ts, cursor) VALUES (?, ?, ?, ?, ?)`,
		latestSnapshot: `SELECT session_id, snapshot_ts, ui_state_json, last_event_ts, cursor FROM ` + t("state_snapshots") + ` WHERE session_id = ? LIMIT 1`,

		getActor: `SELECT value FROM ` + t("actor_state") + ` WHERE actor = ? AND session_id = ? AND key = ?`,
		putActor: `INSERT INTO ` + t("actor_state") + ` (actor, session_id, key, value) VALUES (?, ?, ?, ?)`,
		getMeta:  `SELECT value FROM ` + t("meta") + ` WHERE key = ?`,
		putMeta:  `INSERT INTO ` + t("meta") + ` (key, value) VALUES (?, ?)`,

		putPassage:    `INSERT INTO ` + t("passages") + ` (id, character_id, section_id, page_number, text, embedding) VALUES (?, ?, ?, ?, ?, ?)`,
		countPassages: `SELECT COUNT(*) FROM ` + t("passages"),
		search: [4]string{
			searchSel + ann,
			searchSel + ` WHERE character_id = ?` + ann,
			searchSel + ` WHERE section_id = ?` + ann,
			searchSel + ` WHERE character_id = ? AND section_id = ?` + ann,
		},
	}
}

// exec runs an idempotent write with retries.
func (s *Store) exec(ctx context.Context, op, stmt string, args ...any) error {
	return s.do(ctx, op, func(ctx context.Context) error {
		return s.sess.Query(stmt, args...).Idempotent(true).ExecContext(ctx)
	})
}

// scanOne reads one row; no row is store.ErrNotFound.
func (s *Store) scanOne(ctx context.Context, op, stmt string, args []any, dest ...any) error {
	return s.do(ctx, op, func(ctx context.Context) error {
		return s.sess.Query(stmt, args...).Idempotent(true).ScanContext(ctx, dest...)
	})
}

func nullIfZero(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// ---- events ----

// AppendEvent appends ev unless its (session_id, event_id) is already in the log. It
// converges after partial failures, and exactly one of concurrent appends of the same
// event reports appended=true:
//
//  1. claim: INSERT INTO events_by_id ... IF NOT EXISTS (the row holds the whole event,
//     so the first claim fixes its ts even when a retry brings another ts);
//  2. write the events_log row from the claimed row (an idempotent upsert);
//  3. mark: UPDATE events_by_id SET appended_by = <this call's token> IF appended_by = null.
//
// A claim that finds a marked row changes nothing and returns false. A claim that finds an
// unmarked row (a concurrent append in progress, or an earlier one that failed after the
// claim) does steps 2 and 3 itself. The call whose mark applies (or finds its own token,
// after a retried timeout) returns true; the others return false.
func (s *Store) AppendEvent(ctx context.Context, ev store.StoredEvent) (bool, error) {
	if err := store.CheckEvent(ev); err != nil {
		return false, err
	}
	token := uuid.NewString()
	ts := ev.TS.UTC().Truncate(store.EventTimeResolution).UnixMicro()
	var headers any
	if len(ev.Headers) > 0 {
		b, err := json.Marshal(ev.Headers)
		if err != nil {
			return false, fmt.Errorf("cassandra: append event: headers: %w", err)
		}
		headers = string(b)
	}
	row := map[string]any{}
	var claimed bool
	err := s.do(ctx, "append event (claim)", func(ctx context.Context) error {
		clear(row)
		var err error
		claimed, err = s.sess.Query(s.q.claimEvent, ev.SessionID, ev.EventID, ts, ev.Type, string(ev.Payload), headers).MapScanCASContext(ctx, row)
		return err
	})
	if err != nil {
		return false, err
	}
	if !claimed {
		if by, _ := row["appended_by"].(string); by != "" {
			return false, nil // already in the log
		}
		// Finish the claimed row: write what it holds, not what this call brought.
		ts, _ = row["ts"].(int64)
		typ, _ := row["type"].(string)
		payload, _ := row["payload_json"].(string)
		h, _ := row["headers_json"].(string)
		ev.Type, ev.Payload, headers = typ, []byte(payload), nullIfEmpty(h)
	}
	if err := s.exec(ctx, "append event (log row)", s.q.appendEvent, ev.SessionID, ts, ev.EventID, ev.Type, string(ev.Payload), headers); err != nil {
		return false, err
	}
	var marked bool
	err = s.do(ctx, "append event (mark)", func(ctx context.Context) error {
		clear(row)
		var err error
		marked, err = s.sess.Query(s.q.markAppended, token, ev.SessionID, ev.EventID).MapScanCASContext(ctx, row)
		return err
	})
	if err != nil {
		return false, err
	}
	if marked {
		return true, nil
	}
	by, _ := row["appended_by"].(string)
	return by == token, nil // our own earlier attempt applied before a timeout
}

func (s *Store) readEvents(ctx context.Context, sessionID, stmt string, args ...any) ([]store.StoredEvent, error) {
	var out []store.StoredEvent
	err := s.do(ctx, "events", func(ctx context.Context) error {
		out = out[:0]
		iter := s.sess.Query(stmt, args...).Idempotent(true).IterContext(ctx)
		var (
			ts                   int64
			id, typ, payload, hj string
		)
		for iter.Scan(&ts, &id, &typ, &payload, &hj) {
			ev := store.StoredEvent{SessionID: sessionID, TS: time.UnixMicro(ts).UTC(), EventID: id, Type: typ}
			if payload != "" {
				ev.Payload = []byte(payload)
			}
			if hj != "" {
				if err := json.Unmarshal([]byte(hj), &ev.Headers); err != nil {
					iter.Close()
					return fmt.Errorf("event %s: headers_json: %w", id, err)
				}
			}
			out = append(out, ev)
		}
		return iter.Close()
	})
	return out, err
}

// Events returns the session's events in (ts, event_id) order, after afterEventID when
// it is set (an afterEventID not in the session's log is an error wrapping ErrNotFound).
func (s *Store) Events(ctx context.Context, sessionID, afterEventID string) ([]store.StoredEvent, error) {
	if afterEventID == "" {
		return s.readEvents(ctx, sessionID, s.q.events, sessionID)
	}
	var ts int64
	var by string
	err := s.scanOne(ctx, "events: find cursor", s.q.eventByID, []any{sessionID, afterEventID}, &ts, &by)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("cassandra: events after %q: no such event in session %s: %w", afterEventID, sessionID, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return s.readEvents(ctx, sessionID, s.q.eventsAfter, sessionID, ts, afterEventID)
}

// HasEvent reports whether the session's log holds eventID.
func (s *Store) HasEvent(ctx context.Context, sessionID, eventID string) (bool, error) {
	var ts int64
	var by string
	err := s.scanOne(ctx, "has event", s.q.eventByID, []any{sessionID, eventID}, &ts, &by)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if by != "" {
		return true, nil
	}
	// Claimed but not marked: the log row may or may not have been written yet.
	var id string
	err = s.scanOne(ctx, "has event", s.q.eventLogRow, []any{sessionID, ts, eventID}, &id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ---- pages ----

// PutPage upserts the pages_index row and the page by id (with its text). A page
// rewritten into another cell leaves its old cell.
func (s *Store) PutPage(ctx context.Context, p store.Page) error {
	if err := store.CheckPage(p); err != nil {
		return err
	}
	old, err := s.Page(ctx, p.PageID)
	switch {
	case err == nil:
		if old.CharacterID != p.CharacterID || old.SectionID != p.SectionID {
			if err := s.exec(ctx, "put page (leave old cell)", s.q.deleteCellRow, old.CharacterID, old.SectionID, p.PageID); err != nil {
				return err
			}
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	created := nullIfZero(p.Created)
	if err := s.exec(ctx, "put page (pages_index)", s.q.putCellRow, p.CharacterID, p.SectionID, p.PageID, p.SessionID, p.Title, p.Excerpt, p.EmbeddingsRef, created); err != nil {
		return err
	}
	return s.exec(ctx, "put page (pages_by_id)", s.q.putPage, p.PageID, p.CharacterID, p.SectionID, p.SessionID, p.Title, p.Excerpt, p.EmbeddingsRef, created, p.Text)
}

// Page returns a page by id (with its text), or store.ErrNotFound.
func (s *Store) Page(ctx context.Context, pageID string) (store.Page, error) {
	var p store.Page
	err := s.scanOne(ctx, "page", s.q.pageByID, []any{pageID}, &p.PageID, &p.CharacterID, &p.SectionID, &p.SessionID, &p.Title, &p.Excerpt, &p.EmbeddingsRef, &p.Created, &p.Text)
	if errors.Is(err, store.ErrNotFound) {
		return store.Page{}, store.ErrNotFound
	}
	p.Created = utc(p.Created)
	return p, err
}

// PagesByCell lists the pages of a cell, newest first (ties by page_id), at most limit
// (limit <= 0: all).
func (s *Store) PagesByCell(ctx context.Context, characterID string, sectionID, limit int) ([]store.Page, error) {
	var out []store.Page
	err := s.do(ctx, "pages by cell", func(ctx context.Context) error {
		out = out[:0]
		iter := s.sess.Query(s.q.pagesByCell, characterID, sectionID).Idempotent(true).IterContext(ctx)
		var p store.Page
		for iter.Scan(&p.PageID, &p.CharacterID, &p.SectionID, &p.SessionID, &p.Title, &p.Excerpt, &p.EmbeddingsRef, &p.Created) {
			p.Created = utc(p.Created)
			out = append(out, p)
			p = store.Page{}
		}
		return iter.Close()
	})
	if err != nil {
		return nil, err
	}
	store.SortPagesNewestFirst(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// ---- vault ----

// SaveVault upserts a vault row, keyed (session_id, saved_ts, page_id).
func (s *Store) SaveVault(ctx context.Context, v store.VaultEntry) error {
	if err := store.CheckVault(v); err != nil {
		return err
	}
	return s.exec(ctx, "save vault", s.q.saveVault, v.SessionID, v.Saved, v.PageID, v.Label, v.Notes)
}

// Vault lists the session's vault rows by (saved_ts, page_id).
func (s *Store) Vault(ctx context.Context, sessionID string) ([]store.VaultEntry, error) {
	var out []store.VaultEntry
	err := s.do(ctx, "vault", func(ctx context.Context) error {
		out = out[:0]
		iter := s.sess.Query(s.q.vault, sessionID).Idempotent(true).IterContext(ctx)
		var v store.VaultEntry
		for iter.Scan(&v.SessionID, &v.Saved, &v.PageID, &v.Label, &v.Notes) {
			v.Saved = utc(v.Saved)
			out = append(out, v)
			v = store.VaultEntry{}
		}
		return iter.Close()
	})
	return out, err
}

// ---- snapshots ----

// PutSnapshot writes a snapshot, keyed (session_id, snapshot_ts).
func (s *Store) PutSnapshot(ctx context.Context, sn store.Snapshot) error {
	if err := store.CheckSnapshot(sn); err != nil {
		return err
	}
	return s.exec(ctx, "put snapshot", s.q.putSnapshot, sn.SessionID, sn.TS, nullIfEmpty(string(sn.UIState)), nullIfZero(sn.LastEventTS), sn.Cursor)
}

// LatestSnapshot returns the session's newest snapshot, or store.ErrNotFound.
func (s *Store) LatestSnapshot(ctx context.Context, sessionID string) (store.Snapshot, error) {
	var sn store.Snapshot
	var ui string
	err := s.scanOne(ctx, "latest snapshot", s.q.latestSnapshot, []any{sessionID}, &sn.SessionID, &sn.TS, &ui, &sn.LastEventTS, &sn.Cursor)
	if errors.Is(err, store.ErrNotFound) {
		return store.Snapshot{}, store.ErrNotFound
	}
	if err != nil {
		return store.Snapshot{}, err
	}
	if ui != "" {
		sn.UIState = []byte(ui)
	}
	sn.TS, sn.LastEventTS = utc(sn.TS), utc(sn.LastEventTS)
	return sn, nil
}

// ---- actor state and meta ----

// GetActorState returns an actor's value for (session, key), or store.ErrNotFound.
func (s *Store) GetActorState(ctx context.Context, actor, sessionID, key string) ([]byte, error) {
	var v []byte
	err := s.scanOne(ctx, "get actor state", s.q.getActor, []any{actor, sessionID, key}, &v)
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	return v, err
}

// PutActorState upserts an actor's value for (session, key).
func (s *Store) PutActorState(ctx context.Context, actor, sessionID, key string, value []byte) error {
	if err := store.CheckActorKey(actor, sessionID, key); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	return s.exec(ctx, "put actor state", s.q.putActor, actor, sessionID, key, value)
}

// GetMeta returns a metadata value, or store.ErrNotFound.
func (s *Store) GetMeta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.scanOne(ctx, "get meta", s.q.getMeta, []any{key}, &v)
	if errors.Is(err, store.ErrNotFound) {
		return "", store.ErrNotFound
	}
	return v, err
}

// PutMeta upserts a metadata value.
func (s *Store) PutMeta(ctx context.Context, key, value string) error {
	if err := store.CheckMetaKey(key); err != nil {
		return err
	}
	return s.exec(ctx, "put meta", s.q.putMeta, key, value)
}

// ---- passages ----

// PutPassagesInFlight bounds the concurrent passage writes of PutPassages: Cassandra 5.0
// has been seen to misbehave under many concurrent writes of vectors.
const PutPassagesInFlight = 2

// PutPassages upserts passages into the RAG index, at most PutPassagesInFlight writes at
// a time. Every embedding must have Config.Dimensions dimensions.
func (s *Store) PutPassages(ctx context.Context, ps []store.Passage) error {
	for _, p := range ps {
		if err := store.CheckPassage(p, s.cfg.Dimensions); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan store.Passage)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for w := 0; w < PutPassagesInFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				err := s.exec(ctx, "put passage "+p.ID, s.q.putPassage, p.ID, p.CharacterID, p.SectionID, p.PageNumber, p.Text, p.Embedding)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
feed:
	for _, p := range ps {
		select {
		case work <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// maxANNLimit is Cassandra's cap on the LIMIT of an ANN query.
const maxANNLimit = 1000

// SearchPassages returns the k passages nearest to vec by the SAI vector index (ORDER BY
// embedding ANN OF), restricted by f, best first, with Score the cosine similarity.
func (s *Store) SearchPassages(ctx context.Context, vec []float32, f store.PassageFilter, k int) ([]store.Passage, error) {
	if k <= 0 {
		return nil, nil
	}
	if k > maxANNLimit {
		k = maxANNLimit
	}
	if err := store.CheckVector(vec, s.cfg.Dimensions); err != nil {
		return nil, fmt.Errorf("cassandra: search passages: query vector %v", err)
	}
	args := []any{vec}
	which := 0
	if f.CharacterID != "" {
		which |= 1
		args = append(args, f.CharacterID)
	}
	if f.SectionID != 0 {
		which |= 2
		args = append(args, f.SectionID)
	}
	args = append(args, vec, k)
	var out []store.Passage
	err := s.do(ctx, "search passages", func(ctx context.Context) error {
		out = out[:0]
		iter := s.sess.Query(s.q.search[which], args...).Idempotent(true).IterContext(ctx)
		var p store.Passage
		var sim float32
		for iter.Scan(&p.ID, &p.CharacterID, &p.SectionID, &p.PageNumber, &p.Text, &sim) {
			// Cassandra's similarity_cosine is (1 + cos) / 2, in [0, 1].
			p.Score = 2*sim - 1
			out = append(out, p)
			p = store.Passage{}
		}
		return iter.Close()
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out, nil
}

// PassageCount returns how many passages the index holds (a full count: the corpus is
// some thousands of passages).
func (s *Store) PassageCount(ctx context.Context) (int, error) {
	var n int64
	err := s.scanOne(ctx, "count passages", s.q.countPassages, nil, &n)
	return int(n), err
}
