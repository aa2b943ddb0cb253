package web

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/templates"
)

// EventJSON is an events_log row as GET /api/sessions/{id}/events returns it.
type EventJSON struct {
	EventID string            `json:"event_id"`
	Type    string            `json:"type"`
	TS      time.Time         `json:"ts"`
	Payload json.RawMessage   `json:"payload"`
	Headers map[string]string `json:"headers,omitempty"`
}

func (s *Server) handleEventsAPI(w http.ResponseWriter, r *http.Request) {
	sid := chi.URLParam(r, "session_id")
	if !event.ValidUUID(sid) {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "must be a uuid", Field: "session_id"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	evs, err := s.d.Store.Events(ctx, sid, r.URL.Query().Get("after"))
	if isNotFound(err) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such event in the session", Field: "after"})
		return
	}
	if err != nil {
		s.log.Error("events api", "session", sid, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "the store is not reachable: " + err.Error()})
		return
	}
	out := make([]EventJSON, 0, len(evs))
	for _, ev := range evs {
		p := json.RawMessage(ev.Payload)
		if !json.Valid(p) {
			p, _ = json.Marshal(string(ev.Payload))
		}
		out = append(out, EventJSON{EventID: ev.EventID, Type: ev.Type, TS: ev.TS.UTC(), Payload: p, Headers: ev.Headers})
	}
	writeJSON(w, http.StatusOK, out)
}

// PageJSON is a generated page as GET /api/pages/{id} returns it: the page.done payload
// without its session id, plus the event that carried it. The session id is left out on
// purpose: it is the only key to a reader's timeline, and a page's address may be shared.
type PageJSON struct {
	PageID        string               `json:"page_id"`
	CharacterID   string               `json:"character_id"`
	SectionID     int                  `json:"section_id"`
	Orientation   string               `json:"orientation"`
	Voice         string               `json:"voice"`
	Title         string               `json:"title"`
	Text          string               `json:"text"`
	ParentPageID  string               `json:"parent_page_id,omitempty"`
	EmbeddingsRef string               `json:"embeddings_ref,omitempty"`
	Provenance    event.PageProvenance `json:"provenance"`
	EventID       string               `json:"event_id"`
	TS            time.Time            `json:"ts"`
}

// publicPage is the public view of a page.done: all of it but the session id.
func publicPage(p event.PageDone, ev store.StoredEvent) PageJSON {
	return PageJSON{
		PageID: p.PageID, CharacterID: p.CharacterID, SectionID: p.SectionID, Orientation: p.Orientation,
		Voice: p.Voice, Title: p.Title, Text: p.Text, ParentPageID: p.ParentPageID, EmbeddingsRef: p.EmbeddingsRef,
		Provenance: p.Provenance, EventID: ev.EventID, TS: ev.TS.UTC(),
	}
}

func (s *Server) handlePageAPI(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "page_id")
	if !event.ValidUUID(id) {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "must be a uuid", Field: "page_id"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	p, ev, err := s.findPage(ctx, id, r.URL.Query().Get("session_id"))
	if isNotFound(err) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no page " + id, Field: "page_id"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "the store is not reachable: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, publicPage(p, ev))
}

// ---- Server-Sent Events ----

// handleStream streams the session's page.done events: first those stored after
// Last-Event-ID (the header, else ?last_event_id=; all of them when neither), then new
// ones from Live as they come, with the store re-read every CatchUp for anything the live
// feed missed. An event is sent once per connection.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	sid := r.URL.Query().Get("session_id")
	if sid == "" {
		sid = cookieSession(r)
	}
	if !event.ValidUUID(sid) {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "must be a uuid", Field: "session_id"})
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "streaming is not supported by this connection"})
		return
	}
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	if len(last) > 64 {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "too long", Field: "last_event_id"})
		return
	}
	ctx := r.Context()
	var live <-chan store.StoredEvent
	if s.d.Live != nil {
		ch, cancel := s.d.Live.Subscribe(sid)
		defer cancel()
		live = ch
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	bw.WriteString("retry: 1500\n\n")
	if bw.Flush() != nil {
		return
	}
	fl.Flush()

	if !event.ValidUUID(last) {
		// Event ids are uuids: any other cursor can never turn up in the store, so
		// waiting for it would only delay the replay. Replay the whole log at once.
		last = ""
	}
	seen := map[string]bool{}
	if last != "" {
		// The reader has this one: it may have come live before the ledger stored it.
		seen[last] = true
	}
	cursor := last // last stored event read (any type), for the next store read
	var missingSince time.Time
	send := func(ev store.StoredEvent) error {
		if ev.Type != event.TypePageDone || seen[ev.EventID] || ev.SessionID != "" && ev.SessionID != sid {
			return nil
		}
		seen[ev.EventID] = true
		writeSSE(bw, "page.done", ev.EventID, ev.Payload)
		if err := bw.Flush(); err != nil {
			return err
		}
		fl.Flush()
		return nil
	}
	catchUp := func() error {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		evs, err := s.d.Store.Events(rctx, sid, cursor)
		cancel()
		if isNotFound(err) && cursor != "" {
			// The cursor is not in the store yet: most likely a page the reader got live
			// before the ledger stored it. Wait for it (new pages still come live); only an
			// id that stays unknown makes us replay the whole log, skipping what was sent.
			if missingSince.IsZero() {
				missingSince = time.Now()
			}
			if time.Since(missingSince) < cursorGrace {
				return nil
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			evs, err = s.d.Store.Events(rctx, sid, "")
			cancel()
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("sse replay", "session", sid, "err", err)
			}
			return nil // the next catch-up tries again
		}
		missingSince = time.Time{}
		for _, ev := range evs {
			cursor = ev.EventID
			if err := send(ev); err != nil {
				return err
			}
		}
		return nil
	}
	if catchUp() != nil {
		return
	}
	heartbeat := time.NewTicker(s.d.Heartbeat)
	defer heartbeat.Stop()
	poll := time.NewTicker(s.d.CatchUp)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-heartbeat.C:
			bw.WriteString(": ping\n\n")
			if bw.Flush() != nil {
				return
			}
			fl.Flush()
		case <-poll.C:
			if catchUp() != nil {
				return
			}
		case ev, ok := <-live:
			if !ok {
				// The hub let go of us (e.g. too slow): end the stream, the browser
				// reconnects with Last-Event-ID and misses nothing.
				catchUp()
				return
			}
			if ev.SessionID == sid && send(ev) != nil {
				return
			}
		}
	}
}

// cursorGrace is how long an SSE stream waits for a Last-Event-ID (a uuid) it does not find
// in the store before it replays the session's whole log.
var cursorGrace = 30 * time.Second

// writeSSE writes one event; data is compacted JSON on one line (or split into data lines).
func writeSSE(w io.Writer, name, id string, data []byte) {
	var buf bytes.Buffer
	buf.WriteString("event: " + name + "\n")
	if id != "" && !bytes.ContainsAny([]byte(id), "\r\n") {
		buf.WriteString("id: " + id + "\n")
	}
	var compact bytes.Buffer
	if json.Compact(&compact, data) == nil {
		data = compact.Bytes()
	}
	for _, line := range bytes.Split(bytes.ReplaceAll(data, []byte("\r"), nil), []byte("\n")) {
		buf.WriteString("data: ")
		buf.Write(line)
		buf.WriteByte('\n')
	}
	buf.WriteByte('\n')
	w.Write(buf.Bytes())
}

// ---- actors ----

func (s *Server) actorList() []ActorInfo {
	if s.d.Actors == nil {
		return []ActorInfo{}
	}
	l := s.d.Actors.List()
	if l == nil {
		l = []ActorInfo{}
	}
	return l
}

func (s *Server) handleActors(w http.ResponseWriter, r *http.Request) {
	list := s.actorList()
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, list)
		return
	}
	d := templates.Actors{Admin: s.d.AdminToken != "" && s.d.Actors != nil, Static: s.version}
	for _, a := range list {
		d.Actors = append(d.Actors, templates.Actor{
			Name: a.Name, Version: a.Version, Hash: a.Hash, Voice: a.Voice, Calls: a.Calls,
			Errors: a.Errors, Timeouts: a.Timeouts, LastError: a.LastError, Previous: a.Previous,
		})
	}
	if rl, ok := s.d.Actors.(RefusalLister); ok {
		refs := rl.Refusals()
		for i := len(refs) - 1; i >= 0; i-- {
			f := refs[i]
			d.Refusals = append(d.Refusals, templates.Refusal{Name: f.Name, Source: f.Source, Hash: f.Hash,
				Reason: f.Reason, At: f.At.UTC().Format("2 Jan 15:04:05 UTC")})
		}
	}
	s.html(w, r, http.StatusOK, templates.ActorsView(d))
}

var actorNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// admin checks the bearer token; it answers and returns false when the call may not go on.
func (s *Server) admin(w http.ResponseWriter, r *http.Request) bool {
	if s.d.AdminToken == "" || s.d.Actors == nil {
		writeJSON(w, http.StatusForbidden, apiError{Error: "the admin endpoints are disabled: no admin token is configured"})
		return false
	}
	auth := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(auth) <= len(p) || auth[:len(p)] != p || !tokenEqual(auth[len(p):], s.d.AdminToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gibsey-admin"`)
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "missing or wrong admin token", Field: "Authorization"})
		return false
	}
	return true
}

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	if !s.admin(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.d.MaxUpload)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: "upload larger than " + itoa(int(s.d.MaxUpload)) + " bytes", Field: "body"})
			return
		}
		writeJSON(w, http.StatusBadRequest, apiError{Error: "want a multipart form with name, wasm and manifest: " + err.Error(), Field: "body"})
		return
	}
	defer r.MultipartForm.RemoveAll()
	name := r.FormValue("name")
	if !actorNameRE.MatchString(name) {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "must be 1-64 lower-case letters, digits, '.', '_' or '-'", Field: "name"})
		return
	}
	wasm, err := formFile(r, "wasm")
	if err != nil || len(wasm) == 0 {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "required: the actor's .wasm file", Field: "wasm"})
		return
	}
	manifest, err := formFile(r, "manifest")
	if err != nil || len(manifest) == 0 {
		manifest = []byte(r.FormValue("manifest"))
	}
	if len(manifest) == 0 {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "required: the actor's manifest (JSON)", Field: "manifest"})
		return
	}
	info, err := s.d.Actors.Upload(r.Context(), name, wasm, manifest)
	if err != nil {
		s.actorError(w, err)
		return
	}
	s.log.Info("actor uploaded", "name", info.Name, "version", info.Version, "hash", info.Hash)
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) handleRollback(w http.ResponseWriter, r *http.Request) {
	if !s.admin(w, r) {
		return
	}
	name := chi.URLParam(r, "name")
	if !actorNameRE.MatchString(name) {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "must be 1-64 lower-case letters, digits, '.', '_' or '-'", Field: "name"})
		return
	}
	info, err := s.d.Actors.Rollback(r.Context(), name)
	if err != nil {
		s.actorError(w, err)
		return
	}
	s.log.Info("actor rolled back", "name", info.Name, "version", info.Version, "hash", info.Hash)
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) actorError(w http.ResponseWriter, err error) {
	if isNotFound(err) {
		writeJSON(w, http.StatusNotFound, apiError{Error: err.Error(), Field: "name"})
		return
	}
	writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
}

func tokenEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func formFile(r *http.Request, field string) ([]byte, error) {
	f, _, err := r.FormFile(field)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
