package actors

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/sdk/frame"
)

// Call is one request to an actor: the envelope fields of the page-request event (its
// event_id seeds the actor's randomness and its ts is the actor's clock) and the request.
type Call struct {
	EventID   string
	SessionID string
	TS        time.Time
	Request   event.PageRequest
}

// Provenance names the actor version that answered.
type Provenance struct {
	Actor   string `json:"actor"`
	Version string `json:"version"`
	Hash    string `json:"hash"` // sha256 of the .wasm, hex
	Voice   string `json:"voice"`
}

// Result is a page an actor wrote.
type Result struct {
	Title      string
	Text       string
	Sources    []event.Source
	Generator  string
	Provenance Provenance
}

// PageProvenance fills the page.done provenance for this result: the actor, its version and
// content hash, the request, and the corpus pages and passages it drew on.
func (res Result) PageProvenance(req event.PageRequest, causeEventID string) event.PageProvenance {
	seen := map[int]bool{}
	var pages []int
	for _, s := range res.Sources {
		if s.PageNumber > 0 && !seen[s.PageNumber] {
			seen[s.PageNumber] = true
			pages = append(pages, s.PageNumber)
		}
	}
	sort.Ints(pages)
	if pages == nil {
		pages = []int{}
	}
	srcs := res.Sources
	if srcs == nil {
		srcs = []event.Source{}
	}
	if causeEventID == "" {
		causeEventID = req.CauseEventID
	}
	return event.PageProvenance{
		Actor: res.Provenance.Actor, ActorVersion: res.Provenance.Version, ActorHash: res.Provenance.Hash,
		Voice: res.Provenance.Voice, RequestID: req.RequestID, CauseEventID: causeEventID,
		CorpusPages: pages, Sources: srcs, Meaning: req.Meaning, Generator: res.Generator,
	}
}

var encPool = sync.Pool{New: func() any { return &frame.Encoder{} }}

// Generate asks the actor serving voice (or, when voice is "", the request's voice) to write a
// page. Errors are *CallError values matching ErrNoActor, ErrTimeout, ErrTrap, ErrMemoryLimit,
// ErrOutputTooLarge, ErrBadOutput, ErrRequestTooLarge, ErrActor or ErrHostFunction; when ctx
// ends first, the error wraps ctx.Err().
func (r *Runtime) Generate(ctx context.Context, voice string, c Call) (Result, error) {
	if voice == "" {
		voice = c.Request.Voice
	}
	resp, prov, err := r.do(ctx, voice, KindPage, c)
	if err != nil {
		return Result{}, err
	}
	res := Result{Title: clip(resp.Title, 200), Text: resp.Text, Generator: resp.Generator, Provenance: prov}
	for i, s := range resp.Sources {
		if i == 32 {
			break
		}
		res.Sources = append(res.Sources, event.Source{
			PassageID: s.PassageID, PageNumber: s.PageNumber, CharacterID: s.CharacterID,
			SectionID: s.SectionID, Excerpt: clip(s.Excerpt, 300), Generated: s.Generated,
		})
	}
	return res, nil
}

// Interpret asks the SymbolInterpreter (voice "symbols") what the request's symbol means in its
// orientation; the answer is a short meaning to enrich the page request with.
func (r *Runtime) Interpret(ctx context.Context, c Call) (string, Provenance, error) {
	resp, prov, err := r.do(ctx, VoiceSymbols, KindInterpret, c)
	if err != nil {
		return "", prov, err
	}
	return clip(resp.Meaning, 500), prov, nil
}

func (r *Runtime) do(ctx context.Context, voice, kind string, c Call) (*frame.Response, Provenance, error) {
	r.mu.Lock()
	s, closed := r.voices[voice], r.closed
	r.mu.Unlock()
	if closed {
		return nil, Provenance{}, &CallError{Voice: voice, Kind: ErrClosed}
	}
	if s == nil {
		return nil, Provenance{}, &CallError{Voice: voice, Kind: ErrNoActor, Detail: fmt.Sprintf("no actor serves voice %q (voices: %v)", voice, r.Voices())}
	}
	var v *version
	for {
		v = s.cur.Load()
		if v == nil {
			return nil, Provenance{}, &CallError{Voice: voice, Kind: ErrNoActor, Detail: "the actor was removed"}
		}
		if v.acquire() {
			break
		}
		// that version closed between the load and the acquire: the swap is done, reload
	}
	defer v.release()
	prov := Provenance{Actor: v.m.Name, Version: v.m.Version, Hash: v.hash, Voice: v.m.Voice}
	if !v.m.HandlesKind(kind) {
		return nil, prov, v.errorf(ErrNoActor, nil, "the actor for voice %q does not handle %q requests (handles %v)", voice, kind, v.m.Handles)
	}
	req := toFrame(c, kind, v.m.Name)
	enc := encPool.Get().(*frame.Encoder)
	defer func() {
		if cap(enc.Bytes()) <= 1<<20 {
			encPool.Put(enc)
		}
	}()
	s.calls.Add(1)
	resp, err := v.call(ctx, r.cfg.Env, enc, &req)
	if err != nil {
		var ce *CallError
		if errors.As(err, &ce) {
			s.noteErr(err)
		}
		return nil, prov, err
	}
	return resp, prov, nil
}

func toFrame(c Call, kind, actor string) frame.Request {
	p := &c.Request
	r := frame.Request{
		Kind: kind, EventID: c.EventID, SessionID: c.SessionID, Actor: actor,
		RequestID: p.RequestID, CauseEventID: p.CauseEventID, CauseType: p.CauseType,
		Voice: p.Voice, CharacterID: p.CharacterID, SectionID: p.SectionID, SymbolID: p.SymbolID,
		Orientation: p.Orientation, Prompt: p.Prompt, Symbols: p.Symbols, Meaning: p.Meaning,
		ParentPageID: p.ParentPageID, ParentText: p.ParentText, Attempt: p.Attempt,
	}
	if !c.TS.IsZero() {
		r.TSMillis = c.TS.UnixMilli()
	}
	if r.EventID == "" {
		r.EventID = p.RequestID
	}
	for _, rp := range p.RecentPages {
		r.RecentPages = append(r.RecentPages, frame.PageRef{PageID: rp.PageID, CharacterID: rp.CharacterID, SectionID: rp.SectionID, Title: rp.Title, Text: rp.Text})
	}
	return r
}
