// Package ledger is the writer stage: it event-sources every event of a session into the
// store's events_log (in order, idempotently by event_id) and maintains the read models that
// follow from them: pages_index for generated pages, the vault, and state_snapshots (every N
// events and on gibsey.snapshot). It emits gibsey.index.update for each indexed page.
//
// Every effect is an upsert, so a redelivered event changes nothing; a store failure is
// returned to the caller as transient (the stage pauses and retries, and commits nothing).
package ledger

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
)

// ErrStore wraps every store failure: the caller treats it as transient.
var ErrStore = errors.New("ledger: store")

// Folder folds a session's events onto its previous snapshot (nil when none) and returns the
// UI state to record in state_snapshots.
type Folder func(prev *store.Snapshot, evs []store.StoredEvent) ([]byte, error)

// Ledger writes events and their read models.
type Ledger struct {
	Store store.Store
	// Emit produces follow-up events (index.update). Nil: nothing is emitted.
	Emit func(ctx context.Context, env event.Envelope) error
	// Fold builds snapshots. Nil: no snapshots are taken.
	Fold Folder
	// SnapshotEvery takes a snapshot when that many events have been appended since the
	// last one (0: only on gibsey.snapshot).
	SnapshotEvery int
	// Index optionally adds a generated page to the RAG index and returns its
	// embeddings_ref.
	Index func(ctx context.Context, p event.PageDone) (string, error)
	// Stored, when set, is told the id of each page.done whose effects are all stored
	// (the live gateway announces pages once they can be fetched).
	Stored func(sessionID, eventID string)
	Logger *slog.Logger

	// locks serialise the snapshot work of a session (the stage handles several
	// partitions at once, and one session's events come from several topics).
	locks [64]sync.Mutex
}

func (l *Ledger) lock(sessionID string) func() {
	h := fnv.New32a()
	h.Write([]byte(sessionID))
	m := &l.locks[h.Sum32()%uint32(len(l.locks))]
	m.Lock()
	return m.Unlock
}

func (l *Ledger) storeErr(op string, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrStore, op, err)
}

// Handle stores one event and its effects. headers are the record's headers.
func (l *Ledger) Handle(ctx context.Context, env event.Envelope, headers map[string]string) error {
	appended, err := l.Store.AppendEvent(ctx, store.FromEnvelope(env, headers))
	if err != nil {
		return l.storeErr("append event", err)
	}
	switch env.Type {
	case event.TypePageDone:
		if err := l.page(ctx, env); err != nil {
			return err
		}
		if l.Stored != nil {
			l.Stored(env.SessionID, env.EventID)
		}
	case event.TypeVault:
		var v event.VaultSave
		p, err := env.DecodePayload()
		if err != nil {
			return err
		}
		v = *p.(*event.VaultSave)
		if err := l.Store.SaveVault(ctx, store.VaultEntry{SessionID: env.SessionID, Saved: env.TS.UTC(), PageID: v.PageID, Label: v.Label, Notes: v.Notes}); err != nil {
			return l.storeErr("save vault", err)
		}
	case event.TypeSnapshot:
		return l.snapshot(ctx, env.SessionID, 1)
	}
	if appended && l.Fold != nil {
		// Topics are read in parallel, so an event can be stored after a later one that a
		// snapshot already covers: resuming (snapshot + events after its cursor) would miss
		// it. Then the snapshot is rebuilt from the whole log.
		if err := l.refold(ctx, env); err != nil {
			return err
		}
	}
	if appended && l.SnapshotEvery > 0 {
		return l.snapshot(ctx, env.SessionID, l.SnapshotEvery)
	}
	return nil
}

// refold rebuilds the session's latest snapshot when env sorts at or before it.
func (l *Ledger) refold(ctx context.Context, env event.Envelope) error {
	defer l.lock(env.SessionID)()
	s, err := l.Store.LatestSnapshot(ctx, env.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return l.storeErr("latest snapshot", err)
	}
	// Snapshot times are kept to the millisecond: compare with that margin.
	if env.TS.After(s.LastEventTS.Add(store.TimeResolution)) {
		return nil
	}
	evs, err := l.Store.Events(ctx, env.SessionID, "")
	if err != nil {
		return l.storeErr("read events", err)
	}
	if len(evs) == 0 {
		return nil
	}
	state, err := l.Fold(nil, evs)
	if err != nil {
		return fmt.Errorf("ledger: fold session %s: %w", env.SessionID, err)
	}
	last := evs[len(evs)-1]
	ts := s.TS
	if last.TS.After(ts) {
		ts = last.TS
	}
	if err := l.Store.PutSnapshot(ctx, store.Snapshot{SessionID: env.SessionID, TS: ts, UIState: state, LastEventTS: last.TS, Cursor: last.EventID}); err != nil {
		return l.storeErr("put snapshot", err)
	}
	return nil
}

func (l *Ledger) page(ctx context.Context, env event.Envelope) error {
	p, err := env.DecodePayload()
	if err != nil {
		return err
	}
	pd := p.(*event.PageDone)
	ref := pd.EmbeddingsRef
	if l.Index != nil {
		r, err := l.Index(ctx, *pd)
		if err != nil {
			return l.storeErr("index page", err)
		}
		if r != "" {
			ref = r
		}
	}
	if err := l.Store.PutPage(ctx, store.Page{
		PageID: pd.PageID, CharacterID: pd.CharacterID, SectionID: pd.SectionID, SessionID: pd.SessionID,
		Title: pd.Title, Excerpt: Excerpt(pd.Text, 280), EmbeddingsRef: ref, Created: env.TS.UTC(),
	}); err != nil {
		return l.storeErr("put page", err)
	}
	if l.Emit == nil {
		return nil
	}
	up, err := event.New(event.TypeIndexUpdate, env.SessionID, event.ActorSystem, event.IndexUpdate{PageID: pd.PageID, CharacterID: pd.CharacterID, SectionID: pd.SectionID})
	if err != nil {
		return err
	}
	up.EventID = event.DeriveID(env.EventID, "index.update")
	up.TS = env.TS.UTC()
	return l.Emit(ctx, up)
}

// snapshot folds the events since the latest snapshot when there are at least min of them.
func (l *Ledger) snapshot(ctx context.Context, sessionID string, min int) error {
	if l.Fold == nil {
		return nil
	}
	defer l.lock(sessionID)()
	var prev *store.Snapshot
	cursor := ""
	s, err := l.Store.LatestSnapshot(ctx, sessionID)
	switch {
	case err == nil:
		prev, cursor = &s, s.Cursor
	case errors.Is(err, store.ErrNotFound):
	default:
		return l.storeErr("latest snapshot", err)
	}
	evs, err := l.Store.Events(ctx, sessionID, cursor)
	if err != nil {
		return l.storeErr("read events", err)
	}
	if len(evs) < min || len(evs) == 0 {
		return nil
	}
	state, err := l.Fold(prev, evs)
	if err != nil {
		return fmt.Errorf("ledger: fold session %s: %w", sessionID, err)
	}
	last := evs[len(evs)-1]
	if err := l.Store.PutSnapshot(ctx, store.Snapshot{SessionID: sessionID, TS: last.TS, UIState: state, LastEventTS: last.TS, Cursor: last.EventID}); err != nil {
		return l.storeErr("put snapshot", err)
	}
	return nil
}

// Excerpt returns the start of text, cut at a word boundary, at most max bytes.
func Excerpt(text string, max int) string {
	text = strings.Join(strings.Fields(text), " ")
	if len(text) <= max {
		return text
	}
	cut := text[:max]
	if i := strings.LastIndexByte(cut, ' '); i > max/2 {
		cut = cut[:i]
	}
	for len(cut) > 0 && !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	return strings.TrimSpace(cut) + "…"
}
