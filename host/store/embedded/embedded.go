// Package embedded is Gibsey's zero-dependency event store for one machine: the
// store.Store interface on a Pebble key-value database in a local directory.
//
// Keys mirror Cassandra's partition + clustering keys, so that a range scan of a
// partition returns its rows in clustering order, as the Cassandra backend does:
//
//	ev\x00<session>\x00<ts µs, 8 bytes big-endian><event_id>   events_log row
//	evid\x00<session>\x00<event_id>                            ts of an appended event (idempotency)
//	pg\x00<page_id>                                            page by id (with its text)
//	cell\x00<character>\x00<section, 4 bytes><page_id>         pages_index row
//	vault\x00<session>\x00<saved ms, 8 bytes><page_id>          vault row
//	snap\x00<session>\x00<snapshot ms, 8 bytes>                 state_snapshots row
//	actor\x00<actor>\x00<session>\x00<key>                      actor_state row
//	meta\x00<key>                                              meta row
//	psg\x00<passage id>                                        RAG passage with its embedding
//
// Every write is synced to disk (pebble.Sync) before it is acknowledged. Passages are
// also held in memory after Open: SearchPassages is an exact brute-force cosine scan,
// which is fast for a corpus of some thousands of passages.
package embedded

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/gibsey/gibsey/host/store"
)

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("embedded store: closed")

// Store is the embedded backend. It is safe for concurrent use.
type Store struct {
	dir string

	// life guards db against Close: methods hold it for reading, Close for writing.
	life   sync.RWMutex
	db     *pebble.DB
	closed bool

	// writeMu serialises read-check-write sequences (AppendEvent, PutPage).
	writeMu sync.Mutex

	// passages is the in-memory copy of the RAG index.
	psgMu    sync.RWMutex
	passages map[string]store.Passage
	dims     int
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir and loads the passages into memory.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("embedded store: open: directory is required")
	}
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("embedded store: open %s: %w", dir, err)
	}
	s := &Store{dir: dir, db: db, passages: map[string]store.Passage{}}
	if err := s.loadPassages(); err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded store: open %s: load passages: %w", dir, err)
	}
	return s, nil
}

// Dir returns the directory the store lives in.
func (s *Store) Dir() string { return s.dir }

type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{}) {}
func (quietLogger) Fatalf(format string, args ...interface{}) {
	log.Fatalf("embedded store (pebble): "+format, args...)
}

// enter takes the read side of the lifecycle lock; the caller must call s.life.RUnlock.
func (s *Store) enter() error {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return ErrClosed
	}
	return nil
}

// begin checks the context and enters the store (refusing a closed one); the caller defers
// the returned function.
func (s *Store) begin(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	return s.life.RUnlock, nil
}

// Close syncs and closes the database. Later calls return ErrClosed.
func (s *Store) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("embedded store: close: %w", err)
	}
	return nil
}

// Ping answers nil while the store is open.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.life.RUnlock()
	return ctx.Err()
}

// ---- key encoding ----

const sep = 0

func key(prefix string, parts ...string) []byte {
	n := len(prefix) + 1
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n+16)
	b = append(b, prefix...)
	b = append(b, sep)
	for _, p := range parts {
		b = append(b, p...)
		b = append(b, sep)
	}
	return b
}

// sortableTime encodes t (in units of res since the epoch) so that byte order is time order.
func sortableTime(b []byte, t time.Time, res time.Duration) []byte {
	var n int64
	if res == time.Microsecond {
		n = t.UnixMicro()
	} else {
		n = t.UnixMilli()
	}
	return binary.BigEndian.AppendUint64(b, uint64(n)^(1<<63))
}

func sortableInt(b []byte, n int) []byte {
	return binary.BigEndian.AppendUint32(b, uint32(int32(n))^(1<<31))
}

// prefixEnd returns the smallest key greater than every key with the prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

func eventKey(sessionID string, ts time.Time, eventID string) []byte {
	k := key("ev", sessionID)
	k = sortableTime(k, ts, store.EventTimeResolution)
	return append(k, eventID...)
}

func eventIDKey(sessionID, eventID string) []byte { return key("evid", sessionID, eventID) }

func pageKey(pageID string) []byte { return key("pg", pageID) }

func cellPrefix(characterID string, sectionID int) []byte {
	return sortableInt(key("cell", characterID), sectionID)
}

func cellKey(characterID string, sectionID int, pageID string) []byte {
	return append(cellPrefix(characterID, sectionID), pageID...)
}

func vaultKey(v store.VaultEntry) []byte {
	k := sortableTime(key("vault", v.SessionID), v.Saved, store.TimeResolution)
	return append(k, v.PageID...)
}

func snapKey(sessionID string, ts time.Time) []byte {
	return sortableTime(key("snap", sessionID), ts, store.TimeResolution)
}

func actorKey(actor, sessionID, k string) []byte { return key("actor", actor, sessionID, k) }

func metaKey(k string) []byte { return key("meta", k) }

func passageKey(id string) []byte { return key("psg", id) }

// ---- helpers ----

var syncWrite = pebble.Sync

func (s *Store) get(k []byte) ([]byte, error) {
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, nil
}

func (s *Store) has(k []byte) (bool, error) {
	_, err := s.get(k)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// scan calls fn with every key/value in [lower, upper), in order (or reverse order).
// fn returns false to stop.
func (s *Store) scan(lower, upper []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	var ok bool
	if reverse {
		ok = it.Last()
	} else {
		ok = it.First()
	}
	for ok {
		more, err := fn(it.Key(), it.Value())
		if err != nil {
			it.Close()
			return err
		}
		if !more {
			break
		}
		if reverse {
			ok = it.Prev()
		} else {
			ok = it.Next()
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

func wrap(op string, err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return err
	}
	return fmt.Errorf("embedded store: %s: %w", op, err)
}

// ---- events ----

type eventRec struct {
	SessionID string            `json:"s"`
	TSMicros  int64             `json:"t"`
	EventID   string            `json:"e"`
	Type      string            `json:"y"`
	Payload   []byte            `json:"p,omitempty"`
	Headers   map[string]string `json:"h,omitempty"`
}

func (r eventRec) event() store.StoredEvent {
	return store.StoredEvent{SessionID: r.SessionID, TS: time.UnixMicro(r.TSMicros).UTC(), EventID: r.EventID, Type: r.Type, Payload: r.Payload, Headers: r.Headers}
}

// AppendEvent appends ev to its session's log unless that event_id is already there.
func (s *Store) AppendEvent(ctx context.Context, ev store.StoredEvent) (bool, error) {
	if err := store.CheckEvent(ev); err != nil {
		return false, err
	}
	done, err := s.begin(ctx)
	if err != nil {
		return false, err
	}
	defer done()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	idk := eventIDKey(ev.SessionID, ev.EventID)
	exists, err := s.has(idk)
	if err != nil {
		return false, wrap("append event", err)
	}
	if exists {
		return false, nil
	}
	ts := ev.TS.UTC().Truncate(store.EventTimeResolution)
	rec := eventRec{SessionID: ev.SessionID, TSMicros: ts.UnixMicro(), EventID: ev.EventID, Type: ev.Type, Payload: ev.Payload}
	if len(ev.Headers) > 0 {
		rec.Headers = ev.Headers
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return false, wrap("append event", err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	b.Set(eventKey(ev.SessionID, ts, ev.EventID), val, nil)
	b.Set(idk, binary.BigEndian.AppendUint64(nil, uint64(rec.TSMicros)), nil)
	if err := b.Commit(syncWrite); err != nil {
		return false, wrap("append event", err)
	}
	return true, nil
}

// Events returns the session's events in (ts, event_id) order, after afterEventID when
// it is set (an afterEventID not in the session's log is an error wrapping ErrNotFound).
func (s *Store) Events(ctx context.Context, sessionID, afterEventID string) ([]store.StoredEvent, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	prefix := key("ev", sessionID)
	lower := prefix
	if afterEventID != "" {
		v, err := s.get(eventIDKey(sessionID, afterEventID))
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("embedded store: events after %q: no such event in session %s: %w", afterEventID, sessionID, store.ErrNotFound)
		}
		if err != nil {
			return nil, wrap("events", err)
		}
		ts := time.UnixMicro(int64(binary.BigEndian.Uint64(v)))
		// The first key after the cursor's own key.
		lower = append(eventKey(sessionID, ts, afterEventID), 0)
	}
	var out []store.StoredEvent
	err = s.scan(lower, prefixEnd(prefix), false, func(_, v []byte) (bool, error) {
		var r eventRec
		if err := json.Unmarshal(v, &r); err != nil {
			return false, err
		}
		out = append(out, r.event())
		return true, nil
	})
	if err != nil {
		return nil, wrap("events", err)
	}
	return out, nil
}

// HasEvent reports whether the session's log holds eventID.
func (s *Store) HasEvent(ctx context.Context, sessionID, eventID string) (bool, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return false, err
	}
	defer done()
	ok, err := s.has(eventIDKey(sessionID, eventID))
	return ok, wrap("has event", err)
}

// ---- pages ----

type pageRec struct {
	PageID        string `json:"id"`
	CharacterID   string `json:"c"`
	SectionID     int    `json:"s"`
	SessionID     string `json:"sess,omitempty"`
	Title         string `json:"t,omitempty"`
	Excerpt       string `json:"x,omitempty"`
	EmbeddingsRef string `json:"e,omitempty"`
	CreatedMillis int64  `json:"at"`
	Text          string `json:"text,omitempty"`
}

func (r pageRec) page() store.Page {
	return store.Page{PageID: r.PageID, CharacterID: r.CharacterID, SectionID: r.SectionID, SessionID: r.SessionID, Title: r.Title, Excerpt: r.Excerpt, EmbeddingsRef: r.EmbeddingsRef, Created: time.UnixMilli(r.CreatedMillis).UTC(), Text: r.Text}
}

// PutPage upserts the page (by id, with its text) and its pages_index row (without the
// text). A page moved to another cell leaves its old cell.
func (s *Store) PutPage(ctx context.Context, p store.Page) error {
	if err := store.CheckPage(p); err != nil {
		return err
	}
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	rec := pageRec{PageID: p.PageID, CharacterID: p.CharacterID, SectionID: p.SectionID, SessionID: p.SessionID, Title: p.Title, Excerpt: p.Excerpt, EmbeddingsRef: p.EmbeddingsRef, CreatedMillis: p.Created.UnixMilli(), Text: p.Text}
	full, err := json.Marshal(rec)
	if err != nil {
		return wrap("put page", err)
	}
	rec.Text = ""
	row, err := json.Marshal(rec)
	if err != nil {
		return wrap("put page", err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	if old, err := s.get(pageKey(p.PageID)); err == nil {
		var o pageRec
		if json.Unmarshal(old, &o) == nil && (o.CharacterID != p.CharacterID || o.SectionID != p.SectionID) {
			b.Delete(cellKey(o.CharacterID, o.SectionID, o.PageID), nil)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return wrap("put page", err)
	}
	b.Set(pageKey(p.PageID), full, nil)
	b.Set(cellKey(p.CharacterID, p.SectionID, p.PageID), row, nil)
	return wrap("put page", b.Commit(syncWrite))
}

// Page returns a page by id (with its text), or store.ErrNotFound.
func (s *Store) Page(ctx context.Context, pageID string) (store.Page, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return store.Page{}, err
	}
	defer done()
	v, err := s.get(pageKey(pageID))
	if err != nil {
		return store.Page{}, wrap("page", err)
	}
	var r pageRec
	if err := json.Unmarshal(v, &r); err != nil {
		return store.Page{}, wrap("page", err)
	}
	return r.page(), nil
}

// PagesByCell lists the pages of a cell, newest first (ties by page_id), at most limit
// (limit <= 0: all).
func (s *Store) PagesByCell(ctx context.Context, characterID string, sectionID, limit int) ([]store.Page, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	prefix := cellPrefix(characterID, sectionID)
	var out []store.Page
	err = s.scan(prefix, prefixEnd(prefix), false, func(_, v []byte) (bool, error) {
		var r pageRec
		if err := json.Unmarshal(v, &r); err != nil {
			return false, err
		}
		out = append(out, r.page())
		return true, nil
	})
	if err != nil {
		return nil, wrap("pages by cell", err)
	}
	store.SortPagesNewestFirst(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// ---- vault ----

type vaultRec struct {
	SessionID   string `json:"s"`
	SavedMillis int64  `json:"at"`
	PageID      string `json:"p"`
	Label       string `json:"l,omitempty"`
	Notes       string `json:"n,omitempty"`
}

// SaveVault upserts a vault row, keyed (session_id, saved_ts, page_id).
func (s *Store) SaveVault(ctx context.Context, v store.VaultEntry) error {
	if err := store.CheckVault(v); err != nil {
		return err
	}
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	val, err := json.Marshal(vaultRec{SessionID: v.SessionID, SavedMillis: v.Saved.UnixMilli(), PageID: v.PageID, Label: v.Label, Notes: v.Notes})
	if err != nil {
		return wrap("save vault", err)
	}
	return wrap("save vault", s.db.Set(vaultKey(v), val, syncWrite))
}

// Vault lists the session's vault rows by (saved_ts, page_id).
func (s *Store) Vault(ctx context.Context, sessionID string) ([]store.VaultEntry, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	prefix := key("vault", sessionID)
	var out []store.VaultEntry
	err = s.scan(prefix, prefixEnd(prefix), false, func(_, v []byte) (bool, error) {
		var r vaultRec
		if err := json.Unmarshal(v, &r); err != nil {
			return false, err
		}
		out = append(out, store.VaultEntry{SessionID: r.SessionID, Saved: time.UnixMilli(r.SavedMillis).UTC(), PageID: r.PageID, Label: r.Label, Notes: r.Notes})
		return true, nil
	})
	return out, wrap("vault", err)
}

// ---- snapshots ----

type snapRec struct {
	SessionID  string `json:"s"`
	TSMillis   int64  `json:"at"`
	UIState    []byte `json:"ui,omitempty"`
	LastMillis int64  `json:"last"`
	Cursor     string `json:"c,omitempty"`
}

// PutSnapshot writes a snapshot, keyed (session_id, snapshot_ts).
func (s *Store) PutSnapshot(ctx context.Context, sn store.Snapshot) error {
	if err := store.CheckSnapshot(sn); err != nil {
		return err
	}
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	rec := snapRec{SessionID: sn.SessionID, TSMillis: sn.TS.UnixMilli(), UIState: sn.UIState, Cursor: sn.Cursor}
	if !sn.LastEventTS.IsZero() {
		rec.LastMillis = sn.LastEventTS.UnixMilli()
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return wrap("put snapshot", err)
	}
	return wrap("put snapshot", s.db.Set(snapKey(sn.SessionID, sn.TS), val, syncWrite))
}

// LatestSnapshot returns the session's newest snapshot, or store.ErrNotFound.
func (s *Store) LatestSnapshot(ctx context.Context, sessionID string) (store.Snapshot, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return store.Snapshot{}, err
	}
	defer done()
	prefix := key("snap", sessionID)
	var out store.Snapshot
	found := false
	err = s.scan(prefix, prefixEnd(prefix), true, func(_, v []byte) (bool, error) {
		var r snapRec
		if err := json.Unmarshal(v, &r); err != nil {
			return false, err
		}
		out = store.Snapshot{SessionID: r.SessionID, TS: time.UnixMilli(r.TSMillis).UTC(), UIState: r.UIState, Cursor: r.Cursor}
		if r.LastMillis != 0 {
			out.LastEventTS = time.UnixMilli(r.LastMillis).UTC()
		}
		found = true
		return false, nil
	})
	if err != nil {
		return store.Snapshot{}, wrap("latest snapshot", err)
	}
	if !found {
		return store.Snapshot{}, store.ErrNotFound
	}
	return out, nil
}

// ---- actor state and meta ----

// GetActorState returns an actor's value for (session, key), or store.ErrNotFound.
func (s *Store) GetActorState(ctx context.Context, actor, sessionID, k string) ([]byte, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	v, err := s.get(actorKey(actor, sessionID, k))
	return v, wrap("get actor state", err)
}

// PutActorState upserts an actor's value for (session, key).
func (s *Store) PutActorState(ctx context.Context, actor, sessionID, k string, value []byte) error {
	if err := store.CheckActorKey(actor, sessionID, k); err != nil {
		return err
	}
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	return wrap("put actor state", s.db.Set(actorKey(actor, sessionID, k), value, syncWrite))
}

// GetMeta returns a metadata value, or store.ErrNotFound.
func (s *Store) GetMeta(ctx context.Context, k string) (string, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return "", err
	}
	defer done()
	v, err := s.get(metaKey(k))
	return string(v), wrap("get meta", err)
}

// PutMeta upserts a metadata value.
func (s *Store) PutMeta(ctx context.Context, k, value string) error {
	if err := store.CheckMetaKey(k); err != nil {
		return err
	}
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	return wrap("put meta", s.db.Set(metaKey(k), []byte(value), syncWrite))
}

// ---- passages ----

type passageRec struct {
	ID          string `json:"id"`
	CharacterID string `json:"c,omitempty"`
	SectionID   int    `json:"s,omitempty"`
	PageNumber  int    `json:"p,omitempty"`
	Text        string `json:"t"`
	Embedding   []byte `json:"e"` // little-endian float32s
}

func encodeVec(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func decodeVec(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func (s *Store) loadPassages() error {
	prefix := key("psg")
	return s.scan(prefix, prefixEnd(prefix), false, func(_, v []byte) (bool, error) {
		var r passageRec
		if err := json.Unmarshal(v, &r); err != nil {
			return false, err
		}
		p := store.Passage{ID: r.ID, CharacterID: r.CharacterID, SectionID: r.SectionID, PageNumber: r.PageNumber, Text: r.Text, Embedding: decodeVec(r.Embedding)}
		s.passages[p.ID] = p
		s.dims = len(p.Embedding)
		return true, nil
	})
}

// PutPassages upserts passages into the RAG index. All embeddings must have the same
// number of dimensions as the passages already held.
func (s *Store) PutPassages(ctx context.Context, ps []store.Passage) error {
	if len(ps) == 0 {
		return nil
	}
	done, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	s.psgMu.Lock()
	defer s.psgMu.Unlock()
	dims := s.dims
	if dims == 0 {
		dims = len(ps[0].Embedding)
	}
	b := s.db.NewBatch()
	defer b.Close()
	for _, p := range ps {
		if err := store.CheckPassage(p, dims); err != nil {
			return err
		}
		val, err := json.Marshal(passageRec{ID: p.ID, CharacterID: p.CharacterID, SectionID: p.SectionID, PageNumber: p.PageNumber, Text: p.Text, Embedding: encodeVec(p.Embedding)})
		if err != nil {
			return wrap("put passages", err)
		}
		b.Set(passageKey(p.ID), val, nil)
	}
	if err := b.Commit(syncWrite); err != nil {
		return wrap("put passages", err)
	}
	for _, p := range ps {
		p.Embedding = append([]float32(nil), p.Embedding...)
		p.Score = 0
		s.passages[p.ID] = p
	}
	s.dims = dims
	return nil
}

// SearchPassages returns the k passages most cosine-similar to vec among those matching
// f, best first (ties by id), with Score set and Embedding left nil. The scan is exact.
func (s *Store) SearchPassages(ctx context.Context, vec []float32, f store.PassageFilter, k int) ([]store.Passage, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if k <= 0 {
		return nil, nil
	}
	s.psgMu.RLock()
	defer s.psgMu.RUnlock()
	if err := store.CheckVector(vec, s.dims); err != nil {
		return nil, fmt.Errorf("embedded store: search passages: query vector %v", err)
	}
	var hits []store.Passage
	for _, p := range s.passages {
		if f.CharacterID != "" && p.CharacterID != f.CharacterID {
			continue
		}
		if f.SectionID != 0 && p.SectionID != f.SectionID {
			continue
		}
		p.Score = store.Cosine(vec, p.Embedding)
		hits = append(hits, p)
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].ID < hits[j].ID
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	for i := range hits {
		hits[i].Embedding = nil
	}
	return hits, nil
}

// PassageCount returns how many passages the index holds.
func (s *Store) PassageCount(ctx context.Context) (int, error) {
	done, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	s.psgMu.RLock()
	defer s.psgMu.RUnlock()
	return len(s.passages), nil
}
