// Package memstore is an in-memory store.Store for tests of the reader and of the session
// fold: the events_log, pages_index, vault and snapshots kept in maps, with the same
// ordering and idempotency rules as the real backends. It is not for production: nothing
// survives the process, and the passage search is a plain scan.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/gibsey/gibsey/host/store"
)

// Store is an in-memory store.Store. The zero value is not usable; call New.
type Store struct {
	mu       sync.Mutex
	events   map[string][]store.StoredEvent // by session, ordered by (ts, event_id)
	pages    map[string]store.Page
	vault    map[string][]store.VaultEntry
	snaps    map[string][]store.Snapshot
	actor    map[[3]string][]byte
	meta     map[string]string
	passages map[string]store.Passage
	// Err, when set, is returned by every call (to test error paths).
	Err error
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		events: map[string][]store.StoredEvent{}, pages: map[string]store.Page{},
		vault: map[string][]store.VaultEntry{}, snaps: map[string][]store.Snapshot{},
		actor: map[[3]string][]byte{}, meta: map[string]string{}, passages: map[string]store.Passage{},
	}
}

func less(a, b store.StoredEvent) bool {
	if !a.TS.Equal(b.TS) {
		return a.TS.Before(b.TS)
	}
	return a.EventID < b.EventID
}

// AppendEvent implements store.Store.
func (s *Store) AppendEvent(ctx context.Context, ev store.StoredEvent) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return false, s.Err
	}
	evs := s.events[ev.SessionID]
	for _, e := range evs {
		if e.EventID == ev.EventID {
			return false, nil
		}
	}
	ev.TS = ev.TS.UTC()
	i := sort.Search(len(evs), func(i int) bool { return less(ev, evs[i]) })
	evs = append(evs, store.StoredEvent{})
	copy(evs[i+1:], evs[i:])
	evs[i] = ev
	s.events[ev.SessionID] = evs
	return true, nil
}

// Events implements store.Store (an afterEventID not in the log is an error wrapping
// store.ErrNotFound, as in the embedded backend).
func (s *Store) Events(ctx context.Context, sessionID, afterEventID string) ([]store.StoredEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	evs := s.events[sessionID]
	start := 0
	if afterEventID != "" {
		start = -1
		for i, e := range evs {
			if e.EventID == afterEventID {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, fmt.Errorf("memstore: events after %q: no such event in session %s: %w", afterEventID, sessionID, store.ErrNotFound)
		}
	}
	return append([]store.StoredEvent{}, evs[start:]...), nil
}

// HasEvent implements store.Store.
func (s *Store) HasEvent(ctx context.Context, sessionID, eventID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return false, s.Err
	}
	for _, e := range s.events[sessionID] {
		if e.EventID == eventID {
			return true, nil
		}
	}
	return false, nil
}

// PutPage implements store.Store.
func (s *Store) PutPage(ctx context.Context, p store.Page) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	s.pages[p.PageID] = p
	return nil
}

// Page implements store.Store.
func (s *Store) Page(ctx context.Context, pageID string) (store.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return store.Page{}, s.Err
	}
	p, ok := s.pages[pageID]
	if !ok {
		return store.Page{}, store.ErrNotFound
	}
	return p, nil
}

// PagesByCell implements store.Store.
func (s *Store) PagesByCell(ctx context.Context, characterID string, sectionID, limit int) ([]store.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	var out []store.Page
	for _, p := range s.pages {
		if p.CharacterID == characterID && p.SectionID == sectionID {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].PageID > out[j].PageID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// SaveVault implements store.Store.
func (s *Store) SaveVault(ctx context.Context, v store.VaultEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	vs := s.vault[v.SessionID]
	for i, e := range vs {
		if e.Saved.Equal(v.Saved) && e.PageID == v.PageID {
			vs[i] = v
			return nil
		}
	}
	vs = append(vs, v)
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Saved.Before(vs[j].Saved) })
	s.vault[v.SessionID] = vs
	return nil
}

// Vault implements store.Store.
func (s *Store) Vault(ctx context.Context, sessionID string) ([]store.VaultEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	return append([]store.VaultEntry{}, s.vault[sessionID]...), nil
}

// PutSnapshot implements store.Store.
func (s *Store) PutSnapshot(ctx context.Context, sn store.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	s.snaps[sn.SessionID] = append(s.snaps[sn.SessionID], sn)
	return nil
}

// LatestSnapshot implements store.Store.
func (s *Store) LatestSnapshot(ctx context.Context, sessionID string) (store.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return store.Snapshot{}, s.Err
	}
	var best store.Snapshot
	found := false
	for _, sn := range s.snaps[sessionID] {
		if !found || !sn.TS.Before(best.TS) {
			best, found = sn, true
		}
	}
	if !found {
		return store.Snapshot{}, store.ErrNotFound
	}
	return best, nil
}

// GetActorState implements store.Store.
func (s *Store) GetActorState(ctx context.Context, actor, sessionID, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.actor[[3]string{actor, sessionID, key}]
	if !ok {
		return nil, store.ErrNotFound
	}
	return v, nil
}

// PutActorState implements store.Store.
func (s *Store) PutActorState(ctx context.Context, actor, sessionID, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actor[[3]string{actor, sessionID, key}] = append([]byte(nil), value...)
	return nil
}

// PutPassages implements store.Store.
func (s *Store) PutPassages(ctx context.Context, ps []store.Passage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		s.passages[p.ID] = p
	}
	return nil
}

// SearchPassages implements store.Store with a full scan.
func (s *Store) SearchPassages(ctx context.Context, vec []float32, f store.PassageFilter, k int) ([]store.Passage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Passage
	for _, p := range s.passages {
		if (f.CharacterID != "" && p.CharacterID != f.CharacterID) || (f.SectionID != 0 && p.SectionID != f.SectionID) {
			continue
		}
		p.Score = store.Cosine(vec, p.Embedding)
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ID < out[j].ID
	})
	if k > 0 && len(out) > k {
		out = out[:k]
	}
	return out, nil
}

// PassageCount implements store.Store.
func (s *Store) PassageCount(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.passages), nil
}

// GetMeta implements store.Store.
func (s *Store) GetMeta(ctx context.Context, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.meta[key]
	if !ok {
		return "", store.ErrNotFound
	}
	return v, nil
}

// PutMeta implements store.Store.
func (s *Store) PutMeta(ctx context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta[key] = value
	return nil
}

// ErrClosed is what Ping answers after Close.
var ErrClosed = errors.New("memstore: closed")

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Err
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err == nil {
		s.Err = ErrClosed
	}
	return nil
}
