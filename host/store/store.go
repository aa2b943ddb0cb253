// Package store is Gibsey's event store: the interface every backend implements (the
// session's append-only events_log, pages_index, vault, state_snapshots, per-actor state and
// the RAG passage index), with an embedded on-disk backend (store/embedded) for one machine
// and an Apache Cassandra backend (store/cassandra) for production. store/storetest holds the
// conformance suite both must pass, so the two cannot drift.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/gibsey/gibsey/host/event"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrUnavailable wraps errors that mean the backend cannot be reached right now (a
// transient condition: callers pause and retry instead of dead-lettering).
var ErrUnavailable = errors.New("store: unavailable")

// StoredEvent is one row of events_log.
type StoredEvent struct {
	SessionID string            `json:"session_id"`
	TS        time.Time         `json:"ts"`
	EventID   string            `json:"event_id"`
	Type      string            `json:"type"`
	Payload   []byte            `json:"payload"` // JSON
	Headers   map[string]string `json:"headers,omitempty"`
}

// Page is one row of pages_index (plus the full text, kept by page_id for the reader).
type Page struct {
	PageID        string    `json:"page_id"`
	CharacterID   string    `json:"character_id"`
	SectionID     int       `json:"section_id"`
	SessionID     string    `json:"session_id"`
	Title         string    `json:"title"`
	Excerpt       string    `json:"excerpt"`
	EmbeddingsRef string    `json:"embeddings_ref,omitempty"`
	Created       time.Time `json:"created_ts"`
	// Text is the page's full text. Page(id) returns it; PagesByCell (the pages_index
	// rows) leaves it empty.
	Text string `json:"text,omitempty"`
}

// VaultEntry is one row of vault.
type VaultEntry struct {
	SessionID string    `json:"session_id"`
	Saved     time.Time `json:"saved_ts"`
	PageID    string    `json:"page_id"`
	Label     string    `json:"label"`
	Notes     string    `json:"notes"`
}

// Snapshot is one row of state_snapshots.
type Snapshot struct {
	SessionID   string    `json:"session_id"`
	TS          time.Time `json:"snapshot_ts"`
	UIState     []byte    `json:"ui_state_json"`
	LastEventTS time.Time `json:"last_event_ts"`
	Cursor      string    `json:"cursor"` // event_id of the last event folded in
}

// Passage is a unit of the RAG index: a piece of a corpus page (or of a generated page).
type Passage struct {
	ID          string    `json:"id"`
	CharacterID string    `json:"character_id"`
	SectionID   int       `json:"section_id"`
	PageNumber  int       `json:"page_number"` // the novel's page number; 0 for generated pages
	Text        string    `json:"text"`
	Embedding   []float32 `json:"-"`
	Score       float32   `json:"score,omitempty"` // set by Search: cosine similarity
}

// PassageFilter restricts a passage search. Zero values mean no restriction.
type PassageFilter struct {
	CharacterID string
	SectionID   int
}

// Store is the event store. Every write is idempotent: writing the same row twice leaves
// one row. Implementations are safe for concurrent use.
type Store interface {
	// AppendEvent appends an event to the session's events_log, keyed (session_id, ts,
	// event_id). It returns false (and changes nothing) when an event with the same
	// event_id is already in that session's log, even with another ts.
	AppendEvent(ctx context.Context, ev StoredEvent) (appended bool, err error)
	// Events returns the session's events in (ts, event_id) order; when afterEventID is
	// not empty, only the events after that one (an afterEventID that is not in the
	// session's log is an error wrapping ErrNotFound).
	Events(ctx context.Context, sessionID, afterEventID string) ([]StoredEvent, error)
	// HasEvent reports whether the session's log holds that event_id.
	HasEvent(ctx context.Context, sessionID, eventID string) (bool, error)

	// PutPage upserts a pages_index row (and the page's by-id lookup).
	PutPage(ctx context.Context, p Page) error
	// Page returns a page by id, or ErrNotFound.
	Page(ctx context.Context, pageID string) (Page, error)
	// PagesByCell lists pages of a (character, section) cell, newest first, at most limit.
	PagesByCell(ctx context.Context, characterID string, sectionID, limit int) ([]Page, error)

	// SaveVault upserts a vault row; Vault lists the session's rows by saved time.
	SaveVault(ctx context.Context, v VaultEntry) error
	Vault(ctx context.Context, sessionID string) ([]VaultEntry, error)

	// PutSnapshot writes a snapshot; LatestSnapshot returns the newest or ErrNotFound.
	PutSnapshot(ctx context.Context, s Snapshot) error
	LatestSnapshot(ctx context.Context, sessionID string) (Snapshot, error)

	// ActorState is per-session key-value state for an actor.
	GetActorState(ctx context.Context, actor, sessionID, key string) ([]byte, error) // ErrNotFound when absent
	PutActorState(ctx context.Context, actor, sessionID, key string, value []byte) error

	// PutPassages upserts passages with their embeddings into the RAG index.
	PutPassages(ctx context.Context, ps []Passage) error
	// SearchPassages returns the k passages nearest to vec (cosine), restricted by f,
	// best first, with Score set (Embedding is left nil). An empty filter searches all.
	SearchPassages(ctx context.Context, vec []float32, f PassageFilter, k int) ([]Passage, error)
	// PassageCount returns how many passages the index holds.
	PassageCount(ctx context.Context) (int, error)
	// GetMeta/PutMeta hold small host metadata (e.g. the ingested corpus fingerprint).
	GetMeta(ctx context.Context, key string) (string, error) // ErrNotFound when absent
	PutMeta(ctx context.Context, key, value string) error

	// Ping answers nil when the backend is reachable and usable.
	Ping(ctx context.Context) error
	Close() error
}

// FromEnvelope makes the events_log row of an envelope.
func FromEnvelope(e event.Envelope, headers map[string]string) StoredEvent {
	return StoredEvent{SessionID: e.SessionID, TS: e.TS.UTC(), EventID: e.EventID, Type: e.Type, Payload: e.Payload, Headers: headers}
}
