package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/templates"
)

//go:embed static
var staticFS embed.FS

// Server is the reader's HTTP server. It is an http.Handler.
type Server struct {
	d      Deps
	log    *slog.Logger
	router http.Handler

	chars    []Character // in section order
	byID     map[string]int
	byCode   map[string]int
	tchars   []templates.Character
	sections []templates.Section
	grid     []templates.GridRow
	glyphs   []templates.Glyph

	assets  map[string]asset // by path under /static/
	version string           // static assets' version

	// noticeKey signs the error messages a form post sends back in the address
	// (?error=&field=&sig=), so that a page shows only messages this server wrote.
	noticeKey []byte
}

type asset struct {
	body, gz []byte
	ctype    string
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{3,8}$`)

// New builds a Server. It panics when Store, Publisher or Cast is missing (a wiring bug).
func New(d Deps) *Server {
	if d.Store == nil || d.Publisher == nil || d.Cast == nil {
		panic("web.New: Deps.Store, Deps.Publisher and Deps.Cast are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Heartbeat <= 0 {
		d.Heartbeat = DefaultHeartbeat
	}
	if d.CatchUp <= 0 {
		d.CatchUp = 3 * time.Second
		if d.Live == nil {
			d.CatchUp = 500 * time.Millisecond
		}
	}
	if d.MaxBody <= 0 {
		d.MaxBody = DefaultMaxBody
	}
	if d.MaxUpload <= 0 {
		d.MaxUpload = DefaultMaxUpload
	}
	if d.Client == "" {
		d.Client = "gibsey-web"
	}
	s := &Server{d: d, log: d.Logger, byID: map[string]int{}, byCode: map[string]int{}, noticeKey: make([]byte, 32)}
	if _, err := rand.Read(s.noticeKey); err != nil {
		panic("web.New: no randomness for the notice key: " + err.Error())
	}
	s.loadCast()
	s.loadAssets()
	s.router = s.routes()
	return s
}

func (s *Server) loadCast() {
	chars := s.d.Cast.Characters()
	sort.SliceStable(chars, func(i, j int) bool { return chars[i].Section < chars[j].Section })
	for _, c := range chars {
		if c.ID == "" || s.byID[c.ID] != 0 {
			continue
		}
		if c.Code == "" {
			c.Code = strings.ToUpper(c.ID)
			if len(c.Code) > 2 {
				c.Code = c.Code[:2]
			}
		}
		if !colorRE.MatchString(c.Color) {
			c.Color = "#cccccc"
		}
		s.chars = append(s.chars, c)
		s.byID[c.ID] = len(s.chars)
		s.byCode[strings.ToUpper(c.Code)] = len(s.chars)
	}
	titles := map[int]string{}
	for i, c := range s.chars {
		s.tchars = append(s.tchars, templates.Character{ID: c.ID, Name: c.Name, Code: c.Code, Section: c.Section, SectionTitle: c.SectionTitle, Color: c.Color, Index: i + 1})
		if c.Section >= 1 && c.Section <= 16 && titles[c.Section] == "" {
			titles[c.Section] = c.SectionTitle
		}
		g := templates.Glyph{ID: c.ID}
		if raw, ok := s.d.Cast.Glyph(c.ID); ok {
			if vb, body, err := SanitizeGlyph(raw); err == nil {
				g.ViewBox, g.Body = vb, body
			} else {
				s.log.Warn("glyph rejected; using the project's own", "character", c.ID, "err", err)
			}
		}
		if g.Body == "" {
			raw, _ := staticFS.ReadFile(fmt.Sprintf("static/glyphs/%02d.svg", i%16+1))
			g.ViewBox, g.Body, _ = SanitizeGlyph(raw)
		}
		s.glyphs = append(s.glyphs, g)
	}
	for n := 1; n <= 16; n++ {
		t := titles[n]
		if t == "" {
			t = "section " + itoa(n)
		}
		s.sections = append(s.sections, templates.Section{Number: n, Title: t})
	}
	s.grid = templates.BuildGrid(s.tchars, s.sections)
}

// castCSS gives each character's colour class.
func (s *Server) castCSS() []byte {
	var b bytes.Buffer
	for _, c := range s.tchars {
		fmt.Fprintf(&b, ".%s,[data-c=\"%d\"]{--c:%s}\n", c.ColorClass(), c.Index, c.Color)
	}
	return b.Bytes()
}

func (s *Server) loadAssets() {
	s.assets = map[string]asset{}
	add := func(name string, body []byte) {
		ct := "application/octet-stream"
		switch path.Ext(name) {
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		s.assets[name] = asset{body: body, gz: gz.Bytes(), ctype: ct}
	}
	_ = fs.WalkDir(staticFS, "static", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err == nil {
			add(strings.TrimPrefix(p, "static/"), b)
		}
		return nil
	})
	add("cast.css", s.castCSS())
	h := sha256.New()
	for _, n := range []string{"app.css", "app.js", "cast.css"} {
		h.Write(s.assets[n].body)
	}
	s.version = hex.EncodeToString(h.Sum(nil))[:10]
}

// AssetSizes returns the sizes in bytes (raw and gzipped) of a static asset, e.g. "app.js".
func (s *Server) AssetSizes(name string) (raw, gz int) {
	a := s.assets[name]
	return len(a.body), len(a.gz)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(securityHeaders, middleware.GetHead)
	r.Get("/", s.handleReader)
	r.Post("/event/ui/symbol", s.handleSymbol)
	r.Post("/event/ui/orientation", s.handleOrientation)
	r.Post("/ask", s.handleAsk)
	r.Post("/vault", s.handleVault)
	r.Get("/events/stream", s.handleStream)
	r.Get("/api/sessions/{session_id}/events", s.handleEventsAPI)
	r.Get("/api/pages/{page_id}", s.handlePageAPI)
	r.Get("/pages/{page_id}", s.handlePageView)
	r.Get("/fragments/pages/{page_id}", s.handlePageFragment)
	r.Get("/fragments/vault", s.handleVaultFragment)
	r.Get("/canon", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/canon/1", http.StatusSeeOther) })
	r.Get("/canon/{section}", s.handleCanon)
	r.Get("/canon/{section}/{page}", s.handleCanon)
	r.Get("/vault", s.handleVaultPage)
	r.Get("/actors", s.handleActors)
	r.Post("/admin/actors", s.handleUpload)
	r.Post("/admin/actors/{name}/rollback", s.handleRollback)
	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Get("/static/*", s.handleStatic)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "", "There is no page at "+r.URL.Path+".")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusMethodNotAllowed, "", r.Method+" is not allowed on "+r.URL.Path+".")
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusForbidden, apiError{Error: "cross-origin request refused", Field: "origin"})
	}))
	return cop.Handler(r)
}

// csp allows only the host's own scripts, styles and images.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// ---- responses ----

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}
var gzPool = sync.Pool{New: func() any { zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed); return zw }}

// html renders a component into a buffer and writes it (gzipped when the client takes it).
func (s *Server) html(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := c.Render(r.Context(), buf); err != nil {
		s.log.Error("render", "path", r.URL.Path, "err", err)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Encoding")
	if buf.Len() > 1400 && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		w.WriteHeader(status)
		zw := gzPool.Get().(*gzip.Writer)
		zw.Reset(w)
		zw.Write(buf.Bytes())
		zw.Close()
		gzPool.Put(zw)
		return
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func acceptsGzip(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") || r.URL.Query().Get("format") == "json"
}

// fail answers an error: JSON for API clients, an HTML page for browsers.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, field, msg string) {
	if wantsJSON(r) || strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/admin/") || r.Method == http.MethodPost {
		writeJSON(w, status, apiError{Error: msg, Field: field})
		return
	}
	if strings.HasPrefix(r.URL.Path, "/fragments/") {
		s.html(w, r, status, templates.ErrorFragment(field, msg))
		return
	}
	s.html(w, r, status, templates.ErrorView(templates.ErrorPage{Status: status, Title: http.StatusText(status), Message: msg, Static: s.version}))
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	a, ok := s.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Add("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == s.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	body := a.body
	if acceptsGzip(r) && len(a.gz) < len(a.body) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	var err error
	if s.d.Ready != nil {
		err = s.d.Ready(ctx)
	} else {
		err = s.d.Store.Ping(ctx)
	}
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// ---- notices ----

// noticeSig signs an error notice (field and message) for the address of a redirect.
func (s *Server) noticeSig(field, msg string) string {
	m := hmac.New(sha256.New, s.noticeKey)
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// errorQuery is the query that carries an input error back to a page.
func (s *Server) errorQuery(field, msg string) url.Values {
	msg = clipText(msg, 300)
	q := url.Values{"error": {msg}, "sig": {s.noticeSig(field, msg)}}
	if field != "" {
		q.Set("field", field)
	}
	return q
}

// errorNotice reads the error a redirect carries. Only a message this server signed is
// shown: anything else in ?error= (a link someone made up) is ignored.
func (s *Server) errorNotice(q url.Values) (templates.Notice, bool) {
	msg, field, sig := q.Get("error"), q.Get("field"), q.Get("sig")
	if msg == "" || sig == "" || !hmac.Equal([]byte(sig), []byte(s.noticeSig(field, msg))) {
		return templates.Notice{}, false
	}
	return templates.Notice{Error: msg, Field: field}, true
}

// ---- sessions ----

// sessionFor returns the reader's session id from the cookie, or starts a new one and sets
// the cookie. Only the cookie decides: a ?session_id= in the address is ignored, so a link
// cannot slip a reader into someone else's session (session fixation).
func (s *Server) sessionFor(w http.ResponseWriter, r *http.Request) string {
	if sid := cookieSession(r); sid != "" {
		return sid
	}
	sid := event.NewID()
	s.setCookie(w, sid)
	return sid
}

func cookieSession(r *http.Request) string {
	if c, err := r.Cookie(SessionCookie); err == nil && event.ValidUUID(c.Value) {
		return c.Value
	}
	return ""
}

// knownSession is the session of a request that must not start one: the cookie's.
func knownSession(r *http.Request) string { return cookieSession(r) }

// lookupHint is a session in which to look for a page first: ?session_id= (the live
// reader's fetches pass it) or the cookie. It only speeds up the lookup; what is shown does
// not depend on it.
func lookupHint(r *http.Request) string {
	if q := r.URL.Query().Get("session_id"); event.ValidUUID(q) {
		return q
	}
	return cookieSession(r)
}

func (s *Server) setCookie(w http.ResponseWriter, sid string) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: sid, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.d.SecureCookie,
	})
}

// ---- helpers ----

func itoa(n int) string { return strconv.Itoa(n) }

func (s *Server) character(id string) (Character, int, bool) {
	i := s.byID[id]
	if i == 0 {
		return Character{}, 0, false
	}
	return s.chars[i-1], i, true
}

func (s *Server) colorClass(characterID string) string {
	if _, i, ok := s.character(characterID); ok {
		return "c" + itoa(i)
	}
	return ""
}

func (s *Server) characterName(id string) string {
	if c, _, ok := s.character(id); ok {
		return c.Name
	}
	return id
}

func (s *Server) bySection(n int) (Character, int, bool) {
	for i, c := range s.chars {
		if c.Section == n {
			return c, i + 1, true
		}
	}
	return Character{}, 0, false
}

// parseSymbol splits "S8-PR" into section 8 and the character with code PR.
func (s *Server) parseSymbol(sym string) (Character, int, bool) {
	if len(sym) < 4 || (sym[0] != 'S' && sym[0] != 's') {
		return Character{}, 0, false
	}
	num, code, ok := strings.Cut(sym[1:], "-")
	if !ok {
		return Character{}, 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 16 {
		return Character{}, 0, false
	}
	i := s.byCode[strings.ToUpper(code)]
	if i == 0 {
		return Character{}, 0, false
	}
	return s.chars[i-1], n, true
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

func when(t time.Time) (human, iso string) {
	if t.IsZero() {
		return "", ""
	}
	t = t.UTC()
	return t.Format("2 Jan 15:04:05 UTC"), t.Format(time.RFC3339)
}

// isNotFound reports a miss of the store or of the actor runtime.
func isNotFound(err error) bool {
	return err != nil && (errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrNotFound))
}
