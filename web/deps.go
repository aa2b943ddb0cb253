// Package web is Gibsey's HTTP layer: the server-rendered reader (templ components from
// templates/), the JSON endpoints that turn a reader's clicks, turns, questions and saves
// into events on the bus, the Server-Sent Events stream of new pages, the canon reader, the
// actors page and its admin endpoints, health checks and the embedded static assets.
//
// It knows the rest of the host only through the small interfaces of this file (Publisher,
// Live, Cast, Actors) and store.Store, so host/app wires it to the real pipeline and tests
// wire it to fakes.
package web

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
)

// Publisher produces an event to the bus (to event.TopicOf(env.Type), keyed by the
// session, with event.HeadersFor(env) as headers).
type Publisher interface {
	Publish(ctx context.Context, env event.Envelope) error
}

// Live hands out a session's new events as they are stored (or seen on the bus). The
// channel may be closed by the hub; cancel must be called when the reader goes away.
// host/live.Hub implements it.
type Live interface {
	Subscribe(sessionID string) (<-chan store.StoredEvent, func())
}

// Character is a member of the cast: the owner of one section of the novel.
type Character struct {
	ID           string
	Name         string
	Section      int // 1..16
	SectionTitle string
	StartPage    int // the novel's page numbers of the section
	EndPage      int
	Color        string // "#RRGGBB"
	Code         string // short code used in symbol ids, e.g. "PR" in "S8-PR"
}

// SymbolID is the id of the character's symbol in a section, e.g. "S8-PR".
func (c Character) SymbolID(section int) string {
	return "S" + itoa(section) + "-" + c.Code
}

// CanonPage is a page of the novel.
type CanonPage struct {
	Number      int
	CharacterID string
	Title       string
	Text        string
}

// Cast is what the reader needs of the corpus: the characters (in section order), the
// novel's pages by number, and each character's glyph SVG (when the corpus has one).
type Cast interface {
	Characters() []Character
	Page(n int) (CanonPage, bool)
	Glyph(characterID string) ([]byte, bool)
}

// StaticCast is a Cast held in memory.
type StaticCast struct {
	Cast   []Character
	Pages  map[int]CanonPage
	Glyphs map[string][]byte
}

// Characters implements Cast.
func (c StaticCast) Characters() []Character { return append([]Character(nil), c.Cast...) }

// Page implements Cast.
func (c StaticCast) Page(n int) (CanonPage, bool) { p, ok := c.Pages[n]; return p, ok }

// Glyph implements Cast.
func (c StaticCast) Glyph(id string) ([]byte, bool) { g, ok := c.Glyphs[id]; return g, ok }

// ActorInfo describes a loaded story actor for the actors page.
type ActorInfo struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Hash      string `json:"hash"`
	Voice     string `json:"voice,omitempty"`
	Calls     int64  `json:"calls"`
	Errors    int64  `json:"errors"`
	Timeouts  int64  `json:"timeouts"`
	LastError string `json:"last_error,omitempty"`
	// Previous is the hash of the version a rollback would restore ("" when none).
	Previous string `json:"previous,omitempty"`
}

// Actors is the actor runtime as the actors page and the admin endpoints see it.
// Upload compiles, checks and swaps in a new version; Rollback restores the previous one.
// Errors wrapping ErrNotFound answer 404; other errors of Upload and Rollback answer 400.
type Actors interface {
	List() []ActorInfo
	Upload(ctx context.Context, name string, wasm, manifest []byte) (ActorInfo, error)
	Rollback(ctx context.Context, name string) (ActorInfo, error)
}

// ActorRefusal is a version the runtime refused to install, with the reason.
type ActorRefusal struct {
	Name   string    `json:"name"`
	Source string    `json:"source"`
	Hash   string    `json:"hash"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// RefusalLister is implemented by an Actors that remembers refused versions; the actors
// page then lists them with their reasons.
type RefusalLister interface {
	Refusals() []ActorRefusal
}

// ErrNotFound may be wrapped by an Actors implementation for an unknown actor.
var ErrNotFound = errors.New("not found")

// Deps are what a Server needs. Store, Publisher and Cast are required.
type Deps struct {
	Store     store.Store
	Publisher Publisher
	Cast      Cast
	// Live feeds the SSE stream; without it the stream polls the store.
	Live Live
	// Actors feeds the actors page and the admin endpoints (optional).
	Actors Actors
	// Ready answers GET /readyz (nil error = ready); when nil, readiness is Store.Ping.
	Ready func(ctx context.Context) error
	// AdminToken protects POST /admin/...; when empty those endpoints are disabled.
	AdminToken string
	Logger     *slog.Logger
	// Heartbeat is the interval of SSE comment lines (default 15 s).
	Heartbeat time.Duration
	// CatchUp is how often an SSE stream re-reads the store for events the live feed
	// missed (default 3 s with Live, 500 ms without).
	CatchUp time.Duration
	// MaxBody caps the body of the event endpoints (default 16 KiB).
	MaxBody int64
	// MaxUpload caps an actor upload (default 64 MiB).
	MaxUpload int64
	// SecureCookie sets the Secure flag on the session cookie (behind HTTPS).
	SecureCookie bool
	// Client names this host in the provenance of the events it makes (default "gibsey-web").
	Client string
}

// Defaults of Deps.
const (
	DefaultHeartbeat = 15 * time.Second
	DefaultMaxBody   = 16 << 10
	DefaultMaxUpload = 64 << 20
	// SessionCookie is the name of the cookie that holds the reader's session id.
	SessionCookie = "gibsey_session"
)
