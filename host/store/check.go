package store

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/gibsey/gibsey/host/event"
)

// Precision of stored times, the same in every backend so that they cannot drift:
// events_log keeps an event's ts to the microsecond (so that the events of one session
// within a millisecond keep their order); every other timestamp (pages, vault, snapshots)
// is kept to the millisecond, Cassandra's timestamp type. Times come back in UTC.
const (
	EventTimeResolution = time.Microsecond
	TimeResolution      = time.Millisecond
)

// MaxKeyBytes bounds every key field (ids, character ids, actor names, meta keys).
const MaxKeyBytes = 256

func checkKey(what, field, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("store: %s: %w", what, event.Fieldf(field, "required"))
	case len(v) > MaxKeyBytes:
		return fmt.Errorf("store: %s: %w", what, event.Fieldf(field, "longer than %d bytes", MaxKeyBytes))
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("store: %s: %w", what, event.Fieldf(field, "contains a NUL byte"))
	}
	return nil
}

// CheckEvent validates an events_log row before it is appended.
func CheckEvent(ev StoredEvent) error {
	if err := checkKey("append event", "session_id", ev.SessionID); err != nil {
		return err
	}
	if err := checkKey("append event", "event_id", ev.EventID); err != nil {
		return err
	}
	if ev.TS.IsZero() {
		return fmt.Errorf("store: append event: %w", event.Fieldf("ts", "required"))
	}
	if ev.Type == "" {
		return fmt.Errorf("store: append event: %w", event.Fieldf("type", "required"))
	}
	return nil
}

// CheckPage validates a pages_index row.
func CheckPage(p Page) error {
	if err := checkKey("put page", "page_id", p.PageID); err != nil {
		return err
	}
	return checkKey("put page", "character_id", p.CharacterID)
}

// CheckVault validates a vault row.
func CheckVault(v VaultEntry) error {
	if err := checkKey("save vault", "session_id", v.SessionID); err != nil {
		return err
	}
	if err := checkKey("save vault", "page_id", v.PageID); err != nil {
		return err
	}
	if v.Saved.IsZero() {
		return fmt.Errorf("store: save vault: %w", event.Fieldf("saved_ts", "required"))
	}
	return nil
}

// CheckSnapshot validates a state_snapshots row.
func CheckSnapshot(s Snapshot) error {
	if err := checkKey("put snapshot", "session_id", s.SessionID); err != nil {
		return err
	}
	if s.TS.IsZero() {
		return fmt.Errorf("store: put snapshot: %w", event.Fieldf("snapshot_ts", "required"))
	}
	return nil
}

// CheckActorKey validates the key of an actor_state row.
func CheckActorKey(actor, sessionID, key string) error {
	if err := checkKey("actor state", "actor", actor); err != nil {
		return err
	}
	if err := checkKey("actor state", "session_id", sessionID); err != nil {
		return err
	}
	return checkKey("actor state", "key", key)
}

// CheckMetaKey validates a meta key.
func CheckMetaKey(key string) error { return checkKey("meta", "key", key) }

// CheckPassage validates a passage of the RAG index: an id and a non-zero embedding
// (cosine similarity is undefined for the zero vector). dims > 0 also requires that length.
func CheckPassage(p Passage, dims int) error {
	if err := checkKey("put passage", "id", p.ID); err != nil {
		return err
	}
	if err := CheckVector(p.Embedding, dims); err != nil {
		return fmt.Errorf("store: put passage %q: %w", p.ID, event.Fieldf("embedding", "%v", err))
	}
	return nil
}

// CheckVector validates an embedding or query vector: not empty, finite, not zero, and of
// length dims when dims > 0.
func CheckVector(v []float32, dims int) error {
	if len(v) == 0 {
		return fmt.Errorf("empty vector")
	}
	if dims > 0 && len(v) != dims {
		return fmt.Errorf("has %d dimensions, the index has %d", len(v), dims)
	}
	var n float64
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("holds a NaN or infinite value")
		}
		n += float64(x) * float64(x)
	}
	if n < 1e-12 {
		return fmt.Errorf("is the zero vector (cosine similarity is undefined for it)")
	}
	return nil
}

// Cosine returns the cosine similarity of a and b (0 when either is zero or the lengths
// differ).
func Cosine(a, b []float32) float32 {
	if len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return float32(dot / (math.Sqrt(na) * math.Sqrt(nb)))
}

// SortPagesNewestFirst orders pages by Created, newest first, ties by page_id: the order
// of PagesByCell in every backend.
func SortPagesNewestFirst(ps []Page) {
	sort.SliceStable(ps, func(i, j int) bool {
		if !ps[i].Created.Equal(ps[j].Created) {
			return ps[i].Created.After(ps[j].Created)
		}
		return ps[i].PageID < ps[j].PageID
	})
}
