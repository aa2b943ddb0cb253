// Package runner is the actor runner stage: it consumes gibsey.generate.page.request, routes
// each request by its voice (x-voice) to the actor that declared that voice, and produces
// gibsey.generate.page.done with the page and its provenance (the actor's name, version and
// content hash, and the passages it drew on).
//
// Page ids and event ids are derived from the request id, so a redelivered request yields
// the same page and the reader never sees one page twice.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gibsey/gibsey/host/event"
)

// Page is what an actor wrote.
type Page struct {
	Title      string
	Text       string
	Provenance event.PageProvenance // Actor, ActorVersion, ActorHash, Sources, CorpusPages, Generator
}

// Generator runs the actor of a voice on a request. It returns an error wrapping ErrNoActor
// when no actor has declared the voice.
type Generator interface {
	GeneratePage(ctx context.Context, env event.Envelope, req event.PageRequest) (Page, error)
}

// ErrNoActor: no actor serves the voice (yet).
var ErrNoActor = errors.New("runner: no actor for the voice")

// ErrTransient marks failures worth retrying without limit (the page actor is not loaded
// yet): the caller pauses instead of dead-lettering.
var ErrTransient = errors.New("runner: transient")

// Runner is the stage.
type Runner struct {
	Actors Generator
	Emit   func(ctx context.Context, env event.Envelope) error
	Logger *slog.Logger
}

// Handle turns one page request into a page.done event.
func (r *Runner) Handle(ctx context.Context, env event.Envelope) error {
	pl, err := env.DecodePayload()
	if err != nil {
		return err
	}
	req, ok := pl.(*event.PageRequest)
	if !ok {
		return fmt.Errorf("runner: %s is not a page request", env.Type)
	}
	page, err := r.Actors.GeneratePage(ctx, env, *req)
	if err != nil {
		if errors.Is(err, ErrNoActor) && req.Voice == "page" {
			return fmt.Errorf("%w: %v", ErrTransient, err)
		}
		return fmt.Errorf("runner: voice %q: %w", req.Voice, err)
	}
	done, err := PageDone(env, *req, page)
	if err != nil {
		return err
	}
	return r.Emit(ctx, done)
}

// PageDone builds the page.done envelope of a request and the page an actor wrote. It is
// deterministic: the same request and page give the same envelope (but for provenance
// client fields), which is what makes regeneration from the log byte-identical.
func PageDone(reqEnv event.Envelope, req event.PageRequest, page Page) (event.Envelope, error) {
	prov := page.Provenance
	prov.Voice = req.Voice
	prov.RequestID = req.RequestID
	prov.CauseEventID = req.CauseEventID
	if prov.Meaning == "" {
		prov.Meaning = req.Meaning
	}
	pd := event.PageDone{
		PageID:       event.DeriveID(req.RequestID, "page"),
		SessionID:    reqEnv.SessionID,
		CharacterID:  req.CharacterID,
		SectionID:    req.SectionID,
		Orientation:  req.Orientation,
		Voice:        req.Voice,
		Title:        page.Title,
		Text:         page.Text,
		ParentPageID: req.ParentPageID,
		Provenance:   prov,
	}
	if err := pd.Validate(); err != nil {
		return event.Envelope{}, fmt.Errorf("runner: the actor's page is invalid: %w", err)
	}
	out, err := event.New(event.TypePageDone, reqEnv.SessionID, event.ActorAgent, pd)
	if err != nil {
		return event.Envelope{}, err
	}
	out.EventID = event.DeriveID(req.RequestID, "page.done")
	return out, nil
}
