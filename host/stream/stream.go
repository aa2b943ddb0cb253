// Package stream is the stream processor between the reader's cues and the actors: it
// consumes gibsey.ui.symbol, gibsey.ui.orientation and gibsey.ask, debounces bursts of dial
// turns (last value wins inside a short window per session), enriches each cue with the
// session's context (character, section, orientation, recent pages), asks the
// SymbolInterpreter what the symbol means in that orientation, and produces
// gibsey.generate.page.request. It also turns each generated page into requests for the
// voices that answer pages (Analyst, Commentary).
//
// Every request it produces has an id derived from its cause, so a redelivered cue yields
// the same request and nothing is generated twice for the reader.
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
)

// ErrStore wraps store failures (transient for the caller).
var ErrStore = errors.New("stream: store")

// Cast resolves symbols to cells. SymbolCell parses "S<section>-<code>".
type Cast interface {
	CharacterOfSection(section int) (characterID string, ok bool)
	CharacterByCode(code string) (characterID string, ok bool)
	Known(characterID string) bool
}

// Processor is the stream stage.
type Processor struct {
	Store store.Store
	Emit  func(ctx context.Context, env event.Envelope) error
	Cast  Cast
	// Interpret asks the SymbolInterpreter; nil or an error leaves the meaning empty
	// (a page is still made: the interpreter enriches, it does not gate).
	Interpret func(ctx context.Context, env event.Envelope, req *event.PageRequest) (string, error)
	// Debounce is the window in which later dial turns of the same session replace
	// earlier ones.
	Debounce time.Duration
	// Voices answer each page written by PageGenerator (e.g. "commentary").
	Voices []string
	// Recent is how many earlier pages of the session go into a request (default 3).
	Recent int
	Logger *slog.Logger
	// Now is the clock (tests); nil = time.Now.
	Now func() time.Time
}

// Later returns the records after the one being handled in the same partition, up to the
// partition's current end: the stream uses it to see whether a dial turn was superseded.
type Later func(ctx context.Context) ([]event.Envelope, error)

func (p *Processor) log() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

func (p *Processor) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

type logKey struct{}

// withLog makes the session's log read at most once while one cue is handled.
func withLog(ctx context.Context) context.Context {
	return context.WithValue(ctx, logKey{}, new([]store.StoredEvent))
}

// sessionLog returns the session's events_log (read once per cue).
func (p *Processor) sessionLog(ctx context.Context, env event.Envelope) ([]store.StoredEvent, error) {
	cache, _ := ctx.Value(logKey{}).(*[]store.StoredEvent)
	if cache != nil && *cache != nil {
		return *cache, nil
	}
	evs, err := p.Store.Events(ctx, env.SessionID, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStore, err)
	}
	if evs == nil {
		evs = []store.StoredEvent{}
	}
	if cache != nil {
		*cache = evs
	}
	return evs, nil
}

// Handle processes one cue.
func (p *Processor) Handle(ctx context.Context, env event.Envelope, later Later) error {
	ctx = withLog(ctx)
	pl, err := env.DecodePayload()
	if err != nil {
		return err
	}
	switch v := pl.(type) {
	case *event.SymbolClick:
		if p.Cast != nil && !p.Cast.Known(v.CharacterID) {
			return fmt.Errorf("stream: unknown character %q", v.CharacterID)
		}
		req := event.PageRequest{CharacterID: v.CharacterID, SectionID: v.SectionID, SymbolID: v.SymbolID, Orientation: v.Orientation}
		return p.request(ctx, env, req)
	case *event.OrientationTurn:
		return p.orientation(ctx, env, v, later)
	case *event.Ask:
		return p.ask(ctx, env, v)
	case *event.PageDone:
		return p.answer(ctx, env, v)
	}
	return nil
}

func (p *Processor) orientation(ctx context.Context, env event.Envelope, v *event.OrientationTurn, later Later) error {
	if p.Debounce > 0 {
		wait := env.TS.Add(p.Debounce).Sub(p.now())
		if wait > p.Debounce {
			wait = p.Debounce
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if later != nil {
			evs, err := later(ctx)
			if err != nil {
				return fmt.Errorf("stream: look ahead: %w", err)
			}
			for _, e := range evs {
				if e.SessionID == env.SessionID && e.Type == event.TypeOrientation && !e.TS.Before(env.TS) && e.EventID != env.EventID {
					p.log().Debug("dial turn superseded", "session", env.SessionID, "event", env.EventID, "by", e.EventID)
					return nil
				}
			}
		}
	}
	char, sec := v.CharacterID, v.SectionID
	if char == "" || sec == 0 {
		c, s, sym, err := p.currentCell(ctx, env)
		if err != nil {
			return err
		}
		if c == "" {
			p.log().Info("dial turned before any symbol: no page", "session", env.SessionID)
			return nil
		}
		char, sec = c, s
		_ = sym
	}
	return p.request(ctx, env, event.PageRequest{CharacterID: char, SectionID: sec, Orientation: v.Orientation})
}

var symbolRE = regexp.MustCompile(`^S(\d{1,2})-([A-Za-z0-9]{1,8})$`)

// SymbolCell parses a symbol id like "S8-PR" into its section and character code.
func SymbolCell(sym string) (section int, code string, ok bool) {
	m := symbolRE.FindStringSubmatch(sym)
	if m == nil {
		return 0, "", false
	}
	n, _ := strconv.Atoi(m[1])
	if n < 1 || n > 16 {
		return 0, "", false
	}
	return n, m[2], true
}

func (p *Processor) ask(ctx context.Context, env event.Envelope, v *event.Ask) error {
	req := event.PageRequest{Prompt: v.Prompt, Symbols: v.Context.Symbols, Orientation: "N"}
	for _, s := range v.Context.Symbols {
		sec, code, ok := SymbolCell(s)
		if !ok || p.Cast == nil {
			continue
		}
		if c, ok := p.Cast.CharacterByCode(code); ok {
			req.CharacterID, req.SectionID, req.SymbolID = c, sec, s
			break
		}
	}
	c, s, o, err := p.currentCell(ctx, env)
	if err != nil {
		return err
	}
	if o != "" {
		req.Orientation = o
	}
	if req.CharacterID == "" {
		req.CharacterID, req.SectionID = c, s
	}
	if req.CharacterID == "" && p.Cast != nil {
		req.CharacterID, _ = p.Cast.CharacterOfSection(1)
		req.SectionID = 1
	}
	return p.request(ctx, env, req)
}

func (p *Processor) answer(ctx context.Context, env event.Envelope, v *event.PageDone) error {
	if v.Voice != "page" || v.ParentPageID != "" {
		return nil
	}
	for _, voice := range p.Voices {
		req := event.PageRequest{
			RequestID:    event.DeriveID(env.EventID, "voice/"+voice),
			CauseEventID: env.EventID, CauseType: env.Type, Voice: voice,
			CharacterID: v.CharacterID, SectionID: v.SectionID, Orientation: orDefault(v.Orientation),
			ParentPageID: v.PageID, ParentText: clipUTF8(v.Text, 4000),
		}
		if err := p.emit(ctx, env, req); err != nil {
			return err
		}
	}
	return nil
}

func orDefault(o string) string {
	if event.ValidOrientation(o) {
		return o
	}
	return "N"
}

// request enriches and produces a page request for the page voice.
func (p *Processor) request(ctx context.Context, env event.Envelope, req event.PageRequest) error {
	req.RequestID = event.DeriveID(env.EventID, "request")
	req.CauseEventID = env.EventID
	req.CauseType = env.Type
	req.Voice = "page"
	recent, err := p.recentPages(ctx, env)
	if err != nil {
		return err
	}
	req.RecentPages = recent
	if p.Interpret != nil {
		m, err := p.Interpret(ctx, env, &req)
		if errors.Is(err, ErrStore) {
			return err // the interpreter failed because the store is down: pause, retry
		}
		if err != nil {
			p.log().Warn("symbol interpreter failed; the page is made without a meaning", "session", env.SessionID, "err", err)
		} else {
			req.Meaning = clipUTF8(m, 1000)
		}
	}
	return p.emit(ctx, env, req)
}

func (p *Processor) emit(ctx context.Context, cause event.Envelope, req event.PageRequest) error {
	out, err := event.New(event.TypePageRequest, cause.SessionID, event.ActorSystem, req)
	if err != nil {
		return err
	}
	out.EventID = event.DeriveID(req.RequestID, "envelope")
	out.TS = cause.TS.UTC().Add(time.Microsecond)
	if err := p.Emit(ctx, out); err != nil {
		return fmt.Errorf("stream: produce page request: %w", err)
	}
	return nil
}

// recentPages returns the session's last pages written before the cue.
func (p *Processor) recentPages(ctx context.Context, env event.Envelope) ([]event.PageRef, error) {
	n := p.Recent
	if n == 0 {
		n = 3
	}
	evs, err := p.sessionLog(ctx, env)
	if err != nil {
		return nil, err
	}
	var refs []event.PageRef
	for _, e := range evs {
		if e.Type != event.TypePageDone || !e.TS.Before(env.TS) {
			continue
		}
		env2 := event.Envelope{Type: e.Type, Payload: e.Payload}
		pl, err := env2.DecodePayload()
		if err != nil {
			continue
		}
		pd := pl.(*event.PageDone)
		if pd.ParentPageID != "" {
			continue
		}
		refs = append(refs, event.PageRef{PageID: pd.PageID, CharacterID: pd.CharacterID, SectionID: pd.SectionID, Title: pd.Title, Text: clipUTF8(pd.Text, 800)})
	}
	if len(refs) > n {
		refs = refs[len(refs)-n:]
	}
	return refs, nil
}

// currentCell returns the cell and orientation of the session's latest cue before env.
func (p *Processor) currentCell(ctx context.Context, env event.Envelope) (char string, sec int, orient string, err error) {
	evs, err := p.sessionLog(ctx, env)
	if err != nil {
		return "", 0, "", err
	}
	for _, e := range evs {
		if !e.TS.Before(env.TS) {
			break
		}
		env2 := event.Envelope{Type: e.Type, Payload: e.Payload}
		pl, err := env2.DecodePayload()
		if err != nil {
			continue
		}
		switch v := pl.(type) {
		case *event.SymbolClick:
			char, sec, orient = v.CharacterID, v.SectionID, v.Orientation
		case *event.OrientationTurn:
			orient = v.Orientation
		}
	}
	return char, sec, orient, nil
}

func clipUTF8(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
