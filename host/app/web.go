package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/gibsey/gibsey/host/actors"
	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/session"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/web"
)

func (a *App) newWeb() http.Handler {
	return web.New(web.Deps{
		Store:      a.Store,
		Publisher:  publisher{a},
		Cast:       webCast(a),
		Live:       a.Hub,
		Actors:     webActors{rt: a.Actors, dir: a.uploadsDir()},
		Ready:      a.Ready,
		AdminToken: a.cfg.AdminToken,
		Logger:     a.Log,
		Client:     "gibsey-web",
	})
}

// publisher produces the reader's events.
type publisher struct{ a *App }

func (p publisher) Publish(ctx context.Context, env event.Envelope) error {
	return p.a.Bus.Produce(ctx, env, nil)
}

func webCast(a *App) web.StaticCast {
	c := web.StaticCast{Pages: map[int]web.CanonPage{}, Glyphs: map[string][]byte{}}
	for _, ch := range a.Corpus.Characters() {
		c.Cast = append(c.Cast, web.Character{ID: ch.ID, Name: ch.Name, Section: ch.Section, SectionTitle: ch.SectionTitle,
			StartPage: ch.StartPage, EndPage: ch.EndPage, Color: ch.Color, Code: ch.Code})
		if g, ok := a.Corpus.Glyph(ch.ID); ok {
			c.Glyphs[ch.ID] = g
		}
	}
	for _, p := range a.Corpus.Pages() {
		c.Pages[p.Number] = web.CanonPage{Number: p.Number, CharacterID: p.CharacterID, Title: p.Title, Text: p.Text}
	}
	return c
}

// webActors adapts the actor runtime to the actors page and the admin endpoints. Accepted
// uploads are kept in dir (DATA/actors) and installed again at startup, after the plugins
// folder, so that a restart serves what was serving.
type webActors struct {
	rt  *actors.Runtime
	dir string
}

func (w webActors) List() []web.ActorInfo {
	var out []web.ActorInfo
	for _, i := range w.rt.List() {
		out = append(out, toWeb(i))
	}
	return out
}

func toWeb(i actors.Info) web.ActorInfo {
	prev := ""
	if i.Previous > 0 {
		prev = fmt.Sprintf("%d earlier version(s)", i.Previous)
	}
	return web.ActorInfo{Name: i.Name, Version: i.Version, Hash: i.Hash, Voice: i.Voice, Calls: int64(i.Calls),
		Errors: int64(i.Errors), Timeouts: int64(i.Timeouts), LastError: i.LastError, Previous: prev}
}

func (w webActors) Refusals() []web.ActorRefusal {
	var out []web.ActorRefusal
	for _, r := range w.rt.Refusals() {
		out = append(out, web.ActorRefusal{Name: r.Name, Source: r.Source, Hash: r.Hash, Reason: r.Reason, At: r.At})
	}
	return out
}

func (w webActors) Upload(ctx context.Context, name string, wasm, manifest []byte) (web.ActorInfo, error) {
	m, err := actors.ParseManifest(manifest)
	if err != nil {
		return web.ActorInfo{}, err
	}
	if name != "" && m.Name != name {
		return web.ActorInfo{}, fmt.Errorf("the manifest names actor %q, the upload %q", m.Name, name)
	}
	i, err := w.rt.Install(ctx, wasm, m)
	if err != nil {
		return web.ActorInfo{}, err
	}
	if w.dir != "" {
		if err := keepUpload(w.dir, m.Name, wasm, manifest); err != nil {
			return toWeb(i), fmt.Errorf("installed, but not kept for restarts: %w", err)
		}
	}
	return toWeb(i), nil
}

func (w webActors) Rollback(ctx context.Context, name string) (web.ActorInfo, error) {
	i, err := w.rt.Rollback(ctx, name)
	if err == nil && w.dir != "" {
		// The kept upload is no longer what serves: a restart goes back to the plugins
		// folder's version of the actor.
		os.Remove(filepath.Join(w.dir, name+".wasm"))
		os.Remove(filepath.Join(w.dir, name+".manifest.json"))
	}
	if err != nil {
		if strings.Contains(err.Error(), "unknown") || strings.Contains(err.Error(), "no actor") {
			return web.ActorInfo{}, fmt.Errorf("%w: %v", web.ErrNotFound, err)
		}
		return web.ActorInfo{}, err
	}
	return toWeb(i), nil
}

// keepUpload writes an accepted upload where startup finds it (manifest last, atomically).
func keepUpload(dir, name string, wasm, manifest []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		file string
		data []byte
	}{{name + ".wasm", wasm}, {name + ".manifest.json", manifest}} {
		tmp := filepath.Join(dir, "."+f.file+".tmp")
		if err := os.WriteFile(tmp, f.data, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, f.file)); err != nil {
			return err
		}
	}
	return nil
}

// fold builds the snapshot state of a session for the ledger.
func (a *App) fold(prev *store.Snapshot, evs []store.StoredEvent) ([]byte, error) {
	st := session.Fold(prev, evs)
	if len(evs) == 0 {
		return nil, errors.New("nothing to fold")
	}
	snap, err := st.Snapshot(evs[len(evs)-1].TS)
	if err != nil {
		return nil, err
	}
	return snap.UIState, nil
}
