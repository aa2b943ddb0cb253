// Package session folds a reader's events into the state the reader page shows: the cell the
// reader is on (character and section), the orientation of the dial, the last pages with
// their provenance, the questions asked and their answers, and the Vault.
//
// The state is a pure function of the session's events_log: Fold(nil, all events) and
// Fold(snapshot, events after the snapshot's cursor) give the same State. State is
// JSON-serialisable, so it is what state_snapshots.ui_state_json holds; Load resumes a
// session from the latest snapshot plus the events stored after it.
package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
)

// Limits on what a State keeps (older entries are dropped first).
const (
	// MaxPages is how many of the latest pages the state keeps, with their full text.
	MaxPages = 16
	// MaxAsks is how many of the latest questions the state keeps.
	MaxAsks = 16
	// MaxVault is how many Vault entries the state keeps.
	MaxVault = 500
	// DefaultOrientation is the dial's position before the reader turns it.
	DefaultOrientation = "N"
)

// State is what the reader sees of a session.
type State struct {
	SessionID   string `json:"session_id"`
	CharacterID string `json:"character_id,omitempty"`
	SectionID   int    `json:"section_id,omitempty"`
	SymbolID    string `json:"symbol_id,omitempty"`
	Orientation string `json:"orientation"`
	// Pages are the latest pages, oldest first (see Latest for newest first).
	Pages []Page `json:"pages"`
	// Asks are the latest questions, oldest first.
	Asks []Ask `json:"asks"`
	// Vault holds the saved pages, oldest first.
	Vault []VaultItem `json:"vault"`
	// Cursor is the event_id of the last event folded in ("" for none); LastEventTS its time.
	Cursor      string    `json:"cursor"`
	LastEventTS time.Time `json:"last_event_ts"`
	// Events is how many events were folded in.
	Events int `json:"events"`
}

// Page is a generated page of the session.
type Page struct {
	PageID       string               `json:"page_id"`
	EventID      string               `json:"event_id"`
	TS           time.Time            `json:"ts"`
	CharacterID  string               `json:"character_id"`
	SectionID    int                  `json:"section_id"`
	Orientation  string               `json:"orientation,omitempty"`
	Voice        string               `json:"voice,omitempty"`
	Title        string               `json:"title"`
	Text         string               `json:"text"`
	ParentPageID string               `json:"parent_page_id,omitempty"`
	Provenance   event.PageProvenance `json:"provenance"`
	// AnswerTo is the event_id of the question this page answers ("" when it answers none).
	AnswerTo string `json:"answer_to,omitempty"`
}

// Ask is a question of the reader.
type Ask struct {
	EventID string    `json:"event_id"`
	TS      time.Time `json:"ts"`
	Prompt  string    `json:"prompt"`
	Symbols []string  `json:"symbols,omitempty"`
	// AnswerPageID is the page that answered it ("" while waiting).
	AnswerPageID string `json:"answer_page_id,omitempty"`
}

// VaultItem is a page the reader saved.
type VaultItem struct {
	EventID string    `json:"event_id"`
	TS      time.Time `json:"ts"`
	PageID  string    `json:"page_id"`
	Label   string    `json:"label"`
	Notes   string    `json:"notes"`
	// Title is the saved page's title when the session knew it at save time.
	Title string `json:"title,omitempty"`
}

// New returns the state of a session with no events.
func New(sessionID string) State {
	return State{SessionID: sessionID, Orientation: DefaultOrientation}
}

// Decode reads a snapshot's ui_state_json.
func Decode(s store.Snapshot) (State, error) {
	var st State
	if err := json.Unmarshal(s.UIState, &st); err != nil {
		return State{}, fmt.Errorf("session: snapshot of %s: ui_state_json: %w", s.SessionID, err)
	}
	if st.SessionID == "" {
		st.SessionID = s.SessionID
	}
	if st.Orientation == "" {
		st.Orientation = DefaultOrientation
	}
	if st.Cursor == "" {
		st.Cursor = s.Cursor
	}
	return st, nil
}

// Fold returns the state after applying events (in log order) to the snapshot's state, or
// to an empty state when snapshot is nil or unreadable. events must be those stored after
// the snapshot's cursor (all of the session's events when snapshot is nil).
func Fold(snapshot *store.Snapshot, events []store.StoredEvent) State {
	var st State
	if snapshot != nil {
		if s, err := Decode(*snapshot); err == nil {
			st = s
		}
	}
	if st.SessionID == "" {
		sid := ""
		if snapshot != nil {
			sid = snapshot.SessionID
		} else if len(events) > 0 {
			sid = events[0].SessionID
		}
		st = New(sid)
	}
	for _, ev := range events {
		st.Apply(ev)
	}
	return st
}

// Apply folds one event into the state. Events of unknown types or with unreadable
// payloads only move the cursor. A page already in the state is not added twice.
func (s *State) Apply(ev store.StoredEvent) {
	s.Cursor = ev.EventID
	s.LastEventTS = ev.TS
	s.Events++
	switch ev.Type {
	case event.TypeSymbol:
		var p event.SymbolClick
		if json.Unmarshal(ev.Payload, &p) != nil {
			return
		}
		if p.CharacterID != "" && p.SectionID >= 1 && p.SectionID <= 16 {
			s.CharacterID, s.SectionID, s.SymbolID = p.CharacterID, p.SectionID, p.SymbolID
		}
		if event.ValidOrientation(p.Orientation) {
			s.Orientation = p.Orientation
		}
	case event.TypeOrientation:
		var p event.OrientationTurn
		if json.Unmarshal(ev.Payload, &p) != nil {
			return
		}
		if event.ValidOrientation(p.Orientation) {
			s.Orientation = p.Orientation
		}
	case event.TypeAsk:
		var p event.Ask
		if json.Unmarshal(ev.Payload, &p) != nil {
			return
		}
		s.Asks = append(s.Asks, Ask{EventID: ev.EventID, TS: ev.TS, Prompt: p.Prompt, Symbols: p.Context.Symbols})
		if len(s.Asks) > MaxAsks {
			s.Asks = append([]Ask(nil), s.Asks[len(s.Asks)-MaxAsks:]...)
		}
	case event.TypePageDone:
		var p event.PageDone
		if json.Unmarshal(ev.Payload, &p) != nil || p.PageID == "" {
			return
		}
		if _, dup := s.Page(p.PageID); dup {
			return
		}
		pg := Page{
			PageID: p.PageID, EventID: ev.EventID, TS: ev.TS, CharacterID: p.CharacterID,
			SectionID: p.SectionID, Orientation: p.Orientation, Voice: p.Voice, Title: p.Title,
			Text: p.Text, ParentPageID: p.ParentPageID, Provenance: p.Provenance,
		}
		if cause := p.Provenance.CauseEventID; cause != "" {
			for i := range s.Asks {
				if s.Asks[i].EventID == cause {
					pg.AnswerTo = cause
					if s.Asks[i].AnswerPageID == "" {
						s.Asks[i].AnswerPageID = p.PageID
					}
				}
			}
		}
		s.Pages = append(s.Pages, pg)
		if len(s.Pages) > MaxPages {
			s.Pages = append([]Page(nil), s.Pages[len(s.Pages)-MaxPages:]...)
		}
	case event.TypeVault:
		var p event.VaultSave
		if json.Unmarshal(ev.Payload, &p) != nil || p.PageID == "" {
			return
		}
		item := VaultItem{EventID: ev.EventID, TS: ev.TS, PageID: p.PageID, Label: p.Label, Notes: p.Notes}
		if pg, ok := s.Page(p.PageID); ok {
			item.Title = pg.Title
		} else {
			for _, v := range s.Vault {
				if v.PageID == p.PageID && v.Title != "" {
					item.Title = v.Title
				}
			}
		}
		s.Vault = append(s.Vault, item)
		if len(s.Vault) > MaxVault {
			s.Vault = append([]VaultItem(nil), s.Vault[len(s.Vault)-MaxVault:]...)
		}
	}
}

// Page returns the page with that id if the state holds it.
func (s State) Page(pageID string) (Page, bool) {
	for _, p := range s.Pages {
		if p.PageID == pageID {
			return p, true
		}
	}
	return Page{}, false
}

// Latest returns the pages newest first, at most n (all when n <= 0).
func (s State) Latest(n int) []Page {
	out := make([]Page, 0, len(s.Pages))
	for i := len(s.Pages) - 1; i >= 0; i-- {
		out = append(out, s.Pages[i])
		if n > 0 && len(out) == n {
			break
		}
	}
	return out
}

// Answered reports whether the page with that event cause exists: the page written in
// response to the event causeEventID.
func (s State) Answered(causeEventID string) (Page, bool) {
	for i := len(s.Pages) - 1; i >= 0; i-- {
		if s.Pages[i].Provenance.CauseEventID == causeEventID {
			return s.Pages[i], true
		}
	}
	return Page{}, false
}

// Snapshot returns the state_snapshots row of the state, taken at now.
func (s State) Snapshot(now time.Time) (store.Snapshot, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("session: encode state of %s: %w", s.SessionID, err)
	}
	return store.Snapshot{SessionID: s.SessionID, TS: now.UTC(), UIState: b, LastEventTS: s.LastEventTS, Cursor: s.Cursor}, nil
}

// Load resumes a session from the store: the latest snapshot plus the events stored after
// its cursor, or every event when there is no (readable) snapshot.
func Load(ctx context.Context, st store.Store, sessionID string) (State, error) {
	snap, err := st.LatestSnapshot(ctx, sessionID)
	switch {
	case err == nil:
		if _, derr := Decode(snap); derr == nil && snap.Cursor != "" {
			evs, err := st.Events(ctx, sessionID, snap.Cursor)
			if err == nil {
				return Fold(&snap, evs), nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return State{}, fmt.Errorf("session: events of %s after %s: %w", sessionID, snap.Cursor, err)
			}
			// The snapshot's cursor is not in the log: fold the whole log instead.
		}
	case !errors.Is(err, store.ErrNotFound):
		return State{}, fmt.Errorf("session: latest snapshot of %s: %w", sessionID, err)
	}
	evs, err := st.Events(ctx, sessionID, "")
	if err != nil {
		return State{}, fmt.Errorf("session: events of %s: %w", sessionID, err)
	}
	s := Fold(nil, evs)
	s.SessionID = sessionID
	return s, nil
}

// SnapshotNow loads the session and writes its state to state_snapshots, taken at now: what
// the host does every N events and on gibsey.snapshot. It returns the state written.
func SnapshotNow(ctx context.Context, st store.Store, sessionID string, now time.Time) (State, error) {
	s, err := Load(ctx, st, sessionID)
	if err != nil {
		return State{}, err
	}
	snap, err := s.Snapshot(now)
	if err != nil {
		return State{}, err
	}
	if err := st.PutSnapshot(ctx, snap); err != nil {
		return State{}, fmt.Errorf("session: write snapshot of %s: %w", sessionID, err)
	}
	return s, nil
}
