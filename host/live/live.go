// Package live fans a session's new events out to the readers watching it (the SSE gateway):
// an in-process hub fed by a tail of gibsey.generate.page.done on the bus, so that a reader
// connected to any host sees pages stored by any host.
package live

import (
	"sync"

	"github.com/gibsey/gibsey/host/store"
)

// Hub is an in-process publish/subscribe of events per session. Slow subscribers lose
// nothing that matters: the SSE gateway replays from the store after Last-Event-ID.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*sub]struct{}
}

type sub struct {
	ch chan store.StoredEvent
}

// New returns an empty hub.
func New() *Hub { return &Hub{subs: map[string]map[*sub]struct{}{}} }

// Subscribe returns a channel of the session's events published from now on, and a cancel
// function that must be called when the reader goes away.
func (h *Hub) Subscribe(sessionID string) (<-chan store.StoredEvent, func()) {
	s := &sub{ch: make(chan store.StoredEvent, 64)}
	h.mu.Lock()
	m := h.subs[sessionID]
	if m == nil {
		m = map[*sub]struct{}{}
		h.subs[sessionID] = m
	}
	m[s] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs[sessionID], s)
			if len(h.subs[sessionID]) == 0 {
				delete(h.subs, sessionID)
			}
			h.mu.Unlock()
		})
	}
}

// Publish hands ev to every subscriber of its session. It never blocks: a subscriber whose
// buffer is full misses the event live (and gets it on its next replay from the store).
func (h *Hub) Publish(ev store.StoredEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[ev.SessionID] {
		select {
		case s.ch <- ev:
		default:
		}
	}
}

// Subscribers returns how many readers watch the session (for tests and metrics).
func (h *Hub) Subscribers(sessionID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[sessionID])
}
