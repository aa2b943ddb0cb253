package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gibsey/gibsey/host/actors"
	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/runner"
	"github.com/gibsey/gibsey/host/stream"
)

func (a *App) openActors(ctx context.Context) error {
	rt, err := actors.New(ctx, actors.Config{
		CacheDir: filepath.Join(a.cfg.DataDir, "wasm-cache"),
		Env:      hostEnv{a},
		Logger:   a.Log,
	})
	if err != nil {
		return err
	}
	a.Actors = rt
	if err := rt.LoadDir(ctx, a.cfg.PluginsDir); err != nil {
		// A refused actor is not fatal: the others serve, the refusal is on /actors and in
		// the log (a refused version dropped in while running is handled the same way).
		a.Log.Warn("some actors were refused", "dir", a.cfg.PluginsDir, "err", err)
	}
	if dir := a.uploadsDir(); dirExists(dir) {
		if err := rt.LoadDir(ctx, dir); err != nil {
			a.Log.Warn("some uploaded actors were refused", "dir", dir, "err", err)
		}
	}
	if !rt.ForVoice("page") {
		return fmt.Errorf("actors in %s: no PageGenerator (an actor with voice \"page\"); run `make build` to build the built-in actors", a.cfg.PluginsDir)
	}
	for _, v := range a.cfg.Voices {
		if !rt.ForVoice(v) {
			a.Log.Warn("no actor answers this voice yet: its requests are dead-lettered until one is installed", "voice", v)
		}
	}
	return nil
}

func call(env event.Envelope, req event.PageRequest) actors.Call {
	return actors.Call{EventID: env.EventID, SessionID: env.SessionID, TS: env.TS, Request: req}
}

// interpret asks the SymbolInterpreter (voice "symbols") what a cue means.
func (a *App) interpret(ctx context.Context, env event.Envelope, req *event.PageRequest) (string, error) {
	if !a.Actors.ForVoice("symbols") {
		return "", nil
	}
	m, _, err := a.Actors.Interpret(ctx, call(env, *req))
	if err != nil {
		if perr := a.storeDown(ctx); perr != nil {
			return "", fmt.Errorf("%w: the symbol interpreter failed while the store is unavailable (%v): %v", stream.ErrStore, perr, err)
		}
	}
	return m, err
}

// actorsGenerator adapts the runtime to the runner.
type actorsGenerator struct{ a *App }

func (g actorsGenerator) GeneratePage(ctx context.Context, env event.Envelope, req event.PageRequest) (runner.Page, error) {
	res, err := g.a.Actors.Generate(withRecent(ctx, req.RecentPages), req.Voice, call(env, req))
	if err != nil {
		if errors.Is(err, actors.ErrNoActor) {
			return runner.Page{}, fmt.Errorf("%w: %v", runner.ErrNoActor, err)
		}
		// An actor that failed while the store (its retrieval, its state) is unreachable
		// failed because of the outage: pause and retry, never dead-letter the request.
		if perr := g.a.storeDown(ctx); perr != nil {
			return runner.Page{}, fmt.Errorf("%w: the store is unavailable (%v): %v", runner.ErrTransient, perr, err)
		}
		return runner.Page{}, err
	}
	return runner.Page{Title: res.Title, Text: res.Text, Provenance: res.PageProvenance(req, env.EventID)}, nil
}

// uploadsDir keeps the actors uploaded through the admin endpoint.
func (a *App) uploadsDir() string { return filepath.Join(a.cfg.DataDir, "actors") }

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// storeDown tells, after an actor failed, whether the store is unreachable: then the failure
// came from the outage (the actor's retrieval or state), and the caller pauses and retries
// instead of dead-lettering. The actor runtime reports host-function failures without their
// cause, so the store is asked directly.
func (a *App) storeDown(ctx context.Context) error {
	if ctx.Err() != nil {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := a.Store.Ping(pctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
