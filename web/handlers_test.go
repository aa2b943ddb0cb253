package web_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/session"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/web"
)

func sessionCookie(res *http.Response) string {
	for _, c := range res.Cookies() {
		if c.Name == web.SessionCookie {
			return c.Value
		}
	}
	return ""
}

func TestReaderShowsTheGridAndKeepsTheSessionInACookie(t *testing.T) {
	f := newFixture(t, nil)
	res, body := do(t, "GET", f.ts.URL+"/", "", "")
	if res.StatusCode != 200 {
		t.Fatalf("GET /: %d", res.StatusCode)
	}
	sid := sessionCookie(res)
	if !event.ValidUUID(sid) {
		t.Fatalf("no session cookie with a uuid: %q", sid)
	}
	if n := strings.Count(body, `class="cell"`); n != 256 {
		t.Fatalf("grid has %d cells, want 16 × 16", n)
	}
	cast := f.p.cast.Cast
	for _, c := range cast {
		for _, sec := range []int{1, c.Section, 16} {
			if !strings.Contains(body, `value="`+c.SymbolID(sec)+`"`) {
				t.Fatalf("no cell for symbol %s", c.SymbolID(sec))
			}
		}
		if !strings.Contains(body, `<symbol id="g-`+c.ID+`"`) {
			t.Fatalf("no glyph for %s", c.ID)
		}
	}
	// Hover/focus text names the character and the section title.
	c8 := cast[7]
	if !strings.Contains(body, `aria-label="`+htmlEsc(c8.Name+" · section 8: "+c8.SectionTitle)+`"`) {
		t.Fatalf("cell of %s in section 8 lacks its label", c8.ID)
	}
	for _, want := range []string{`action="/event/ui/orientation"`, `value="N"`, `value="W"`, `action="/ask"`, `id="vault"`, `data-session="` + sid + `"`, "/static/app.js", "/static/app.css"} {
		if !strings.Contains(body, want) {
			t.Fatalf("reader lacks %s", want)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP: %q", csp)
	}

	// Coming back with the cookie keeps the session; a ?session_id= in the address neither
	// switches to another session nor sets the cookie (no session fixation by link).
	res2, body2 := do(t, "GET", f.ts.URL+"/", "", "", "Cookie", web.SessionCookie+"="+sid)
	if sessionCookie(res2) != "" || !strings.Contains(body2, `data-session="`+sid+`"`) {
		t.Fatalf("the cookie's session was not kept")
	}
	other := event.NewID()
	res3, body3 := do(t, "GET", f.ts.URL+"/?session_id="+other, "", "", "Cookie", web.SessionCookie+"="+sid)
	if sessionCookie(res3) != "" || strings.Contains(body3, other) || !strings.Contains(body3, `data-session="`+sid+`"`) {
		t.Fatalf("?session_id= was adopted: cookie %q", sessionCookie(res3))
	}
	res5, body5 := do(t, "GET", f.ts.URL+"/?session_id="+other, "", "")
	if s := sessionCookie(res5); !event.ValidUUID(s) || s == other || strings.Contains(body5, other) {
		t.Fatalf("without a cookie, ?session_id= was adopted: cookie %q", s)
	}
	// A bad cookie starts a new session.
	res4, _ := do(t, "GET", f.ts.URL+"/", "", "", "Cookie", web.SessionCookie+"=nope")
	if s := sessionCookie(res4); !event.ValidUUID(s) || s == sid {
		t.Fatalf("bad cookie: new session %q", s)
	}
}

func htmlEsc(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}

func TestSymbolPostPublishesTheEvent(t *testing.T) {
	f := newFixture(t, nil)
	f.p.generate = false
	c := f.p.cast.Cast[7]
	sid := event.NewID()
	res, body := postJSON(t, f.ts.URL+"/event/ui/symbol", map[string]any{
		"session_id": sid, "character_id": c.ID, "section_id": 8, "symbol_id": c.SymbolID(8), "orientation": "E",
	})
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	var out struct {
		EventID string `json:"event_id"`
	}
	json.Unmarshal([]byte(body), &out)
	pub := f.p.publishedOf(event.TypeSymbol)
	if len(pub) != 1 || pub[0].EventID != out.EventID || pub[0].SessionID != sid || pub[0].Actor != event.ActorUser {
		t.Fatalf("published %+v, answered %q", pub, out.EventID)
	}
	if _, err := event.Decode(mustMarshal(t, pub[0])); err != nil {
		t.Fatalf("the published envelope does not validate: %v", err)
	}
	h := event.HeadersFor(pub[0])
	if h[event.HeaderCharacter] != c.ID || h[event.HeaderSection] != "8" || h[event.HeaderOrientation] != "E" || h[event.HeaderSymbol] != c.SymbolID(8) {
		t.Fatalf("headers %v", h)
	}
	// The symbol id alone is enough: character and section are read from it.
	res, body = postJSON(t, f.ts.URL+"/event/ui/symbol", map[string]any{"session_id": sid, "symbol_id": c.SymbolID(3), "orientation": "S"})
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("symbol id alone: %d %s", res.StatusCode, body)
	}
	var sc event.SymbolClick
	json.Unmarshal(f.p.publishedOf(event.TypeSymbol)[1].Payload, &sc)
	if sc.CharacterID != c.ID || sc.SectionID != 3 {
		t.Fatalf("derived %+v", sc)
	}
}

func mustMarshal(t testing.TB, e event.Envelope) []byte {
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSymbolPostRejectsBadInputNamingTheField(t *testing.T) {
	f := newFixture(t, nil)
	c := f.p.cast.Cast[0]
	good := func() map[string]any {
		return map[string]any{"session_id": event.NewID(), "character_id": c.ID, "section_id": 1, "symbol_id": c.SymbolID(1), "orientation": "N"}
	}
	with := func(k string, v any) map[string]any { m := good(); m[k] = v; return m }
	cases := []struct {
		name  string
		body  string
		field string
	}{
		{"unknown character", string(mustJSON(with("character_id", "nobody"))), "character_id"},
		{"section 0", string(mustJSON(with("section_id", 0))), "section_id"},
		{"section 17", string(mustJSON(with("section_id", 17))), "section_id"},
		{"section as text", string(mustJSON(with("section_id", "eight"))), "section_id"},
		{"bad orientation", string(mustJSON(with("orientation", "NE"))), "orientation"},
		{"missing orientation", string(mustJSON(with("orientation", ""))), "orientation"},
		{"session not a uuid", string(mustJSON(with("session_id", "1234"))), "session_id"},
		{"no session", string(mustJSON(with("session_id", ""))), "session_id"},
		{"not json", "{nope", "body"},
		{"empty body", "", "body"},
		{"two objects", string(mustJSON(good())) + string(mustJSON(good())), "body"},
		{"over the size cap", `{"session_id":"` + strings.Repeat("x", 20<<10) + `"}`, "body"},
	}
	for _, tc := range cases {
		res, body := do(t, "POST", f.ts.URL+"/event/ui/symbol", "application/json", tc.body)
		var e struct{ Error, Field string }
		json.Unmarshal([]byte(body), &e)
		if res.StatusCode != 400 || e.Field != tc.field || e.Error == "" {
			t.Errorf("%s: %d %s, want 400 naming %q", tc.name, res.StatusCode, body, tc.field)
		}
	}
	if n := len(f.p.publishedOf(event.TypeSymbol)); n != 0 {
		t.Fatalf("%d events produced for bad input", n)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestFormPostsRedirectBackAndShowErrorsOnThePage(t *testing.T) {
	f := newFixture(t, nil)
	f.p.generate = false
	c := f.p.cast.Cast[4]
	sid := event.NewID()
	res, _ := postForm(t, f.ts.URL+"/event/ui/symbol", url.Values{"session_id": {sid}, "symbol_id": {c.SymbolID(5)}, "orientation": {"W"}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/?pending=") {
		t.Fatalf("form post: %d to %q", res.StatusCode, loc)
	}
	if len(f.p.publishedOf(event.TypeSymbol)) != 1 {
		t.Fatal("form post produced nothing")
	}
	// A browser without JS lands on a page that reloads until the page is written.
	_, page := do(t, "GET", f.ts.URL+loc, "", "", "Cookie", web.SessionCookie+"="+sid)
	if !strings.Contains(page, `http-equiv="refresh"`) || !strings.Contains(page, "being written") {
		t.Fatal("pending page does not refresh itself")
	}

	// The session can come from the cookie alone.
	res, _ = postForm(t, f.ts.URL+"/event/ui/orientation", url.Values{"orientation": {"S"}}, "Cookie", web.SessionCookie+"="+sid)
	if res.StatusCode != http.StatusSeeOther || len(f.p.publishedOf(event.TypeOrientation)) != 1 {
		t.Fatalf("orientation form with cookie session: %d", res.StatusCode)
	}

	// Errors go back to the page, readable.
	long := strings.Repeat("why? ", event.MaxPromptBytes/4)
	res, _ = postForm(t, f.ts.URL+"/ask", url.Values{"session_id": {sid}, "prompt": {long}})
	loc = res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "error=") || !strings.Contains(loc, "field=prompt") {
		t.Fatalf("too long prompt: %d %q", res.StatusCode, loc)
	}
	_, page = do(t, "GET", f.ts.URL+loc, "", "", "Cookie", web.SessionCookie+"="+sid)
	if !strings.Contains(page, `role="alert"`) || !strings.Contains(page, "too long") || !strings.Contains(page, "at most 2000") {
		t.Fatal("the error is not shown on the page")
	}
	// A form that asks for JSON gets JSON.
	res, body := postForm(t, f.ts.URL+"/event/ui/symbol", url.Values{"session_id": {sid}, "symbol_id": {"S99-ZZ"}, "orientation": {"N"}}, "Accept", "application/json")
	if res.StatusCode != 400 || !strings.Contains(body, `"field":"symbol_id"`) {
		t.Fatalf("form asking JSON: %d %s", res.StatusCode, body)
	}
	// The return path stays on this host.
	res, _ = postForm(t, f.ts.URL+"/event/ui/orientation", url.Values{"session_id": {sid}, "orientation": {"Q"}, "return": {"//evil.example/x"}})
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/?error=") {
		t.Fatalf("return path escaped: %q", loc)
	}
}

func TestOrientationAskAndVaultValidate(t *testing.T) {
	f := newFixture(t, nil)
	sid := event.NewID()
	c := f.p.cast.Cast[1]
	check := func(path string, body map[string]any, status int, field string) string {
		t.Helper()
		res, out := postJSON(t, f.ts.URL+path, body)
		if res.StatusCode != status || (field != "" && !strings.Contains(out, `"field":"`+field+`"`)) {
			t.Fatalf("%s %v: %d %s, want %d naming %q", path, body, res.StatusCode, out, status, field)
		}
		var r struct {
			EventID string `json:"event_id"`
		}
		json.Unmarshal([]byte(out), &r)
		return r.EventID
	}
	check("/event/ui/orientation", map[string]any{"session_id": sid, "orientation": "X"}, 400, "orientation")
	check("/event/ui/orientation", map[string]any{"session_id": sid, "orientation": "E", "character_id": "ghost"}, 400, "character_id")
	check("/event/ui/orientation", map[string]any{"session_id": sid, "orientation": "E", "section_id": 40}, 400, "section_id")
	check("/event/ui/orientation", map[string]any{"session_id": "x", "orientation": "E"}, 400, "session_id")
	check("/event/ui/orientation", map[string]any{"session_id": sid, "orientation": "E", "character_id": c.ID, "section_id": 2}, 202, "")

	check("/ask", map[string]any{"session_id": sid, "prompt": "   "}, 400, "prompt")
	check("/ask", map[string]any{"session_id": sid, "prompt": strings.Repeat("a", event.MaxPromptBytes+1)}, 400, "prompt")
	check("/ask", map[string]any{"session_id": sid, "prompt": "hi", "context": map[string]any{"symbols": make([]string, 40)}}, 400, "context.symbols")
	askID := check("/ask", map[string]any{"session_id": sid, "prompt": "Who keeps the keys?", "context": map[string]any{"symbols": []string{c.SymbolID(2)}}}, 202, "")
	var a event.Ask
	pub := f.p.publishedOf(event.TypeAsk)
	json.Unmarshal(pub[len(pub)-1].Payload, &a)
	if pub[len(pub)-1].EventID != askID || a.Prompt != "Who keeps the keys?" || len(a.Context.Symbols) != 1 {
		t.Fatalf("ask published as %+v", a)
	}

	waitFor(t, "the answer page", func() bool { return len(pageDones(t, f.p.st, sid)) >= 1 })
	pageID := pageDones(t, f.p.st, sid)[0].PageID
	check("/vault", map[string]any{"session_id": sid, "page_id": "nope"}, 400, "page_id")
	check("/vault", map[string]any{"session_id": sid, "page_id": event.NewID()}, 400, "page_id")
	check("/vault", map[string]any{"session_id": sid, "page_id": pageID, "label": strings.Repeat("l", event.MaxLabelBytes+1)}, 400, "label")
	check("/vault", map[string]any{"session_id": sid, "page_id": pageID, "notes": strings.Repeat("n", event.MaxNotesBytes+1)}, 400, "notes")
	check("/vault", map[string]any{"session_id": sid, "page_id": pageID, "label": "keys", "notes": "to read again"}, 202, "")
	var v event.VaultSave
	json.Unmarshal(f.p.publishedOf(event.TypeVault)[0].Payload, &v)
	if v.PageID != pageID || v.Label != "keys" || v.Notes != "to read again" {
		t.Fatalf("vault published as %+v", v)
	}
	if n := len(f.p.publishedOf(event.TypeVault)); n != 1 {
		t.Fatalf("%d vault events for one good save", n)
	}
}

func TestPublishFailureIsAReadableError(t *testing.T) {
	f := newFixture(t, nil)
	f.p.failWith = errors.New("broker down")
	res, body := postJSON(t, f.ts.URL+"/event/ui/symbol", map[string]any{"session_id": event.NewID(), "symbol_id": f.p.cast.Cast[0].SymbolID(1), "orientation": "N"})
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "broker down") {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
}

func TestCrossSitePostsAreRefused(t *testing.T) {
	f := newFixture(t, nil)
	f.p.generate = false
	body := map[string]any{"session_id": event.NewID(), "symbol_id": f.p.cast.Cast[0].SymbolID(1), "orientation": "N"}
	for _, path := range []string{"/event/ui/symbol", "/event/ui/orientation", "/ask", "/vault", "/admin/actors"} {
		res, out := postJSON(t, f.ts.URL+path, body, "Sec-Fetch-Site", "cross-site")
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site POST %s: %d %s", path, res.StatusCode, out)
		}
		res, _ = postForm(t, f.ts.URL+path, url.Values{"orientation": {"N"}}, "Origin", "https://evil.example")
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-origin form POST %s: %d", path, res.StatusCode)
		}
	}
	if n := len(f.p.publishedOf(event.TypeSymbol)) + len(f.p.publishedOf(event.TypeOrientation)); n != 0 {
		t.Fatalf("%d events produced by cross-site posts", n)
	}
	// Same-origin browsers and clients without browser headers (curl, kcat scripts) pass.
	if res, out := postJSON(t, f.ts.URL+"/event/ui/symbol", body, "Sec-Fetch-Site", "same-origin"); res.StatusCode != 202 {
		t.Fatalf("same-origin: %d %s", res.StatusCode, out)
	}
	if res, out := postJSON(t, f.ts.URL+"/event/ui/symbol", body); res.StatusCode != 202 {
		t.Fatalf("no browser headers: %d %s", res.StatusCode, out)
	}
}

// ---- SSE ----

type sseEvent struct{ name, id, data string }

type sseReader struct {
	t      *testing.T
	events chan sseEvent
	pings  chan struct{}
	cancel func()
}

func openStream(t *testing.T, rawURL string, hdr ...string) *sseReader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", rawURL, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	r := &sseReader{t: t, events: make(chan sseEvent, 100), pings: make(chan struct{}, 100), cancel: cancel}
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.name != "" || cur.data != "" {
					r.events <- cur
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, ":"):
				r.pings <- struct{}{}
			case strings.HasPrefix(line, "event: "):
				cur.name = line[7:]
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				cur.data += line[6:]
			}
		}
		close(r.events)
	}()
	t.Cleanup(cancel)
	return r
}

func (r *sseReader) next() sseEvent {
	r.t.Helper()
	select {
	case ev, ok := <-r.events:
		if !ok {
			r.t.Fatal("stream ended")
		}
		return ev
	case <-time.After(20 * time.Second):
		r.t.Fatal("timed out waiting for an SSE event")
	}
	return sseEvent{}
}

// quiet asserts that no event arrives before the given event id shows up as a marker.
func (r *sseReader) nextID() string { return r.next().id }

func TestStreamReplaysAfterLastEventIDThenGoesLive(t *testing.T) {
	f := newFixture(t, nil)
	sid := event.NewID()
	c := f.p.cast.Cast[7]
	post := func() string {
		res, body := postJSON(t, f.ts.URL+"/event/ui/symbol", map[string]any{"session_id": sid, "symbol_id": c.SymbolID(8), "orientation": "N"})
		if res.StatusCode != 202 {
			t.Fatalf("%d %s", res.StatusCode, body)
		}
		return body
	}
	post()
	post()
	waitFor(t, "two pages", func() bool { return len(pageDones(t, f.p.st, sid)) == 2 })
	evs, _ := f.p.st.Events(context.Background(), sid, "")
	var doneIDs []string
	for _, ev := range evs {
		if ev.Type == event.TypePageDone {
			doneIDs = append(doneIDs, ev.EventID)
		}
	}

	// No Last-Event-ID: everything, in order, as page.done with the payload as data.
	s1 := openStream(t, f.ts.URL+"/events/stream?session_id="+sid)
	for i, want := range doneIDs {
		ev := s1.next()
		var p event.PageDone
		if ev.name != "page.done" || ev.id != want || json.Unmarshal([]byte(ev.data), &p) != nil || p.PageID != pageDones(t, f.p.st, sid)[i].PageID || p.Text == "" {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	// Live: a new page arrives without reconnecting.
	waitFor(t, "the live subscription", func() bool { return f.p.live.subscribers(sid) == 1 })
	post()
	third := s1.next()
	if third.name != "page.done" || third.id == doneIDs[0] || third.id == doneIDs[1] {
		t.Fatalf("live event: %+v", third)
	}
	// The hub repeating an event (it is also re-read from the store) sends it once.
	all, _ := f.p.st.Events(context.Background(), sid, "")
	for _, ev := range all {
		f.p.live.notify(ev)
	}
	post()
	fourth := s1.next()
	if fourth.id == third.id || fourth.id == doneIDs[0] || fourth.id == doneIDs[1] {
		t.Fatalf("a page was sent twice: %+v", fourth)
	}

	// A reconnect with Last-Event-ID gets only what came after; the header wins over the query.
	s2 := openStream(t, f.ts.URL+"/events/stream?session_id="+sid+"&last_event_id="+doneIDs[0], "Last-Event-ID", doneIDs[1])
	if got := s2.nextID(); got != third.id {
		t.Fatalf("after %s got %s, want %s", doneIDs[1], got, third.id)
	}
	if got := s2.nextID(); got != fourth.id {
		t.Fatalf("then %s, want %s", got, fourth.id)
	}
	s3 := openStream(t, f.ts.URL+"/events/stream?session_id="+sid+"&last_event_id="+doneIDs[0])
	if got := s3.nextID(); got != doneIDs[1] {
		t.Fatalf("query last_event_id: got %s want %s", got, doneIDs[1])
	}
}

func TestStreamWithoutLiveFeedPollsTheStore(t *testing.T) {
	f := newFixture(t, func(d *web.Deps) {
		d.Live = nil
		d.CatchUp = 50 * time.Millisecond
		d.Heartbeat = 100 * time.Millisecond
	})
	sid := event.NewID()
	s := openStream(t, f.ts.URL+"/events/stream?session_id="+sid)
	select {
	case <-s.pings:
	case <-time.After(20 * time.Second):
		t.Fatal("no heartbeat comment")
	}
	postJSON(t, f.ts.URL+"/event/ui/symbol", map[string]any{"session_id": sid, "symbol_id": f.p.cast.Cast[2].SymbolID(3), "orientation": "E"})
	if ev := s.next(); ev.name != "page.done" {
		t.Fatalf("%+v", ev)
	}
	if res, body := do(t, "GET", f.ts.URL+"/events/stream?session_id=nope", "", ""); res.StatusCode != 400 || !strings.Contains(body, "session_id") {
		t.Fatalf("bad session: %d %s", res.StatusCode, body)
	}
}

// ---- JSON API ----

func TestEventsAPIReturnsTheLogInOrder(t *testing.T) {
	f := newFixture(t, nil)
	sid := event.NewID()
	c := f.p.cast.Cast[3]
	postJSON(t, f.ts.URL+"/event/ui/symbol", map[string]any{"session_id": sid, "symbol_id": c.SymbolID(4), "orientation": "N"})
	waitFor(t, "page", func() bool { return len(pageDones(t, f.p.st, sid)) == 1 })
	postJSON(t, f.ts.URL+"/event/ui/orientation", map[string]any{"session_id": sid, "orientation": "S"})
	res, body := do(t, "GET", f.ts.URL+"/api/sessions/"+sid+"/events", "", "")
	var evs []struct {
		EventID string          `json:"event_id"`
		Type    string          `json:"type"`
		TS      time.Time       `json:"ts"`
		Payload json.RawMessage `json:"payload"`
	}
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &evs) != nil {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	types := []string{}
	for i, e := range evs {
		types = append(types, e.Type)
		if !event.ValidUUID(e.EventID) || e.TS.IsZero() || len(e.Payload) == 0 || e.Payload[0] != '{' {
			t.Fatalf("event %d incomplete: %+v", i, e)
		}
		if i > 0 && e.TS.Before(evs[i-1].TS) {
			t.Fatal("events out of order")
		}
	}
	if strings.Join(types, ",") != "ui.symbol,generate.page.done,ui.orientation" {
		t.Fatalf("types in order: %v", types)
	}
	if res, body := do(t, "GET", f.ts.URL+"/api/sessions/"+event.NewID()+"/events", "", ""); res.StatusCode != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("empty session: %d %q", res.StatusCode, body)
	}
	if res, body := do(t, "GET", f.ts.URL+"/api/sessions/not-a-uuid/events", "", ""); res.StatusCode != 400 || !strings.Contains(body, "session_id") {
		t.Fatalf("bad id: %d %s", res.StatusCode, body)
	}
}

// seedPage stores a session with a symbol click and its page (with the given text), and
// returns the session and page ids.
func seedPage(t *testing.T, f *fixture, title, text string) (sid, pageID string) {
	t.Helper()
	sid = event.NewID()
	c := f.p.cast.Cast[7]
	click, _ := event.New(event.TypeSymbol, sid, event.ActorUser, event.SymbolClick{CharacterID: c.ID, SectionID: 8, SymbolID: c.SymbolID(8), Orientation: "E"})
	f.p.store(click)
	pageID = event.NewID()
	n := c.StartPage
	pd := event.PageDone{PageID: pageID, SessionID: sid, CharacterID: c.ID, SectionID: 8, Orientation: "E", Voice: "pagegen", Title: title, Text: text,
		Provenance: event.PageProvenance{Actor: "pagegen", ActorVersion: "1.2.3", ActorHash: "sha256:feedfacecafebeef0000", CauseEventID: click.EventID,
			CorpusPages: []int{n}, Sources: []event.Source{{PassageID: "x", PageNumber: n, CharacterID: c.ID, SectionID: 8, Excerpt: "an excerpt of the canon"}}}}
	env, _ := event.New(event.TypePageDone, sid, event.ActorAgent, pd)
	f.p.st.PutPage(context.Background(), store.Page{PageID: pageID, CharacterID: c.ID, SectionID: 8, SessionID: sid, Title: title, Excerpt: text, Created: env.TS})
	f.p.store(env)
	return sid, pageID
}

func TestPageAPIAndPageViewWithWhyThisPage(t *testing.T) {
	f := newFixture(t, nil)
	sid, pageID := seedPage(t, f, "The gate at night", "First paragraph.\n\nSecond paragraph.")
	c := f.p.cast.Cast[7]
	res, body := do(t, "GET", f.ts.URL+"/api/pages/"+pageID, "", "")
	var p web.PageJSON
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &p) != nil || p.PageID != pageID || p.Title != "The gate at night" || p.Provenance.ActorHash == "" || !event.ValidUUID(p.EventID) {
		t.Fatalf("api page: %d %s", res.StatusCode, body)
	}
	res, html := do(t, "GET", f.ts.URL+"/pages/"+pageID, "", "")
	if res.StatusCode != 200 {
		t.Fatalf("page view: %d", res.StatusCode)
	}
	for _, want := range []string{"The gate at night", "<p>First paragraph.</p>", "<p>Second paragraph.</p>", "Why this page", "pagegen", "1.2.3", "feedfacecafe",
		`href="/canon/8/` + itoa(c.StartPage) + `"`, "an excerpt of the canon", "<details class=\"why\" open"} {
		if !strings.Contains(html, want) {
			t.Fatalf("page view lacks %q", want)
		}
	}
	// The fragment is the same page card, for the live reader.
	res, frag := do(t, "GET", f.ts.URL+"/fragments/pages/"+pageID+"?session_id="+sid, "", "")
	if res.StatusCode != 200 || !strings.HasPrefix(strings.TrimSpace(frag), "<article") || !strings.Contains(frag, `id="p-`+pageID+`"`) || strings.Contains(frag, "<html") {
		t.Fatalf("fragment: %d %s", res.StatusCode, frag)
	}
	for _, u := range []string{"/api/pages/" + event.NewID(), "/pages/" + event.NewID(), "/fragments/pages/" + event.NewID()} {
		if res, _ := do(t, "GET", f.ts.URL+u, "", ""); res.StatusCode != 404 {
			t.Fatalf("%s: %d, want 404", u, res.StatusCode)
		}
	}
	if res, _ := do(t, "GET", f.ts.URL+"/api/pages/x", "", ""); res.StatusCode != 400 {
		t.Fatalf("bad page id: %d", res.StatusCode)
	}
}

func itoa(n int) string { return strings.TrimSpace(strings.Replace(string(mustJSON(n)), `"`, "", -1)) }

func TestEverythingUntrustedIsEscaped(t *testing.T) {
	f := newFixture(t, nil)
	f.p.generate = false
	evil := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	sid, pageID := seedPage(t, f, "Title "+evil, "Text "+evil+"\n\n& more")
	ask, _ := event.New(event.TypeAsk, sid, event.ActorUser, event.Ask{Prompt: "Ask " + evil})
	f.p.store(ask)
	vault, _ := event.New(event.TypeVault, sid, event.ActorUser, event.VaultSave{PageID: pageID, Label: "Label " + evil, Notes: "Notes " + evil})
	f.p.store(vault)
	pages := map[string]string{
		"/": "", "/pages/" + pageID: "", "/fragments/pages/" + pageID: "", "/vault": "", "/fragments/vault": "",
	}
	for u := range pages {
		res, body := do(t, "GET", f.ts.URL+u, "", "", "Cookie", web.SessionCookie+"="+sid)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", u, res.StatusCode)
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Fatalf("%s: untrusted markup came out unescaped", u)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(") {
			t.Fatalf("%s: the escaped text is missing", u)
		}
	}
	_, reader := do(t, "GET", f.ts.URL+"/", "", "", "Cookie", web.SessionCookie+"="+sid)
	for _, want := range []string{"Ask &lt;script&gt;", "Label &lt;script&gt;", "Notes &lt;script&gt;", "Text &lt;script&gt;", "&amp; more"} {
		if !strings.Contains(reader, want) {
			t.Fatalf("reader lacks %q", want)
		}
	}
}

func TestReaderResumesTheSessionFromSnapshotAndLaterEvents(t *testing.T) {
	f := newFixture(t, nil)
	f.p.generate = false
	sid, first := seedPage(t, f, "Before the snapshot", "old text")
	st, err := session.Load(context.Background(), f.p.st, sid)
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := st.Snapshot(time.Now())
	f.p.st.PutSnapshot(context.Background(), snap)
	turn, _ := event.New(event.TypeOrientation, sid, event.ActorUser, event.OrientationTurn{Orientation: "W"})
	f.p.store(turn)
	vault, _ := event.New(event.TypeVault, sid, event.ActorUser, event.VaultSave{PageID: first, Label: "kept"})
	f.p.store(vault)
	res, body := do(t, "GET", f.ts.URL+"/", "", "", "Cookie", web.SessionCookie+"="+sid)
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	c := f.p.cast.Cast[7]
	for _, want := range []string{"Before the snapshot", `data-orientation="W"`, ">kept<"} {
		if !strings.Contains(body, want) {
			t.Fatalf("resumed reader lacks %q", want)
		}
	}
	if !strings.Contains(body, `aria-label="West" aria-pressed="true"`) {
		t.Fatal("the dial is not restored to W")
	}
	if n := strings.Count(body, `aria-pressed="true"><svg`); n != 1 || !strings.Contains(body, `value="`+c.SymbolID(8)+`" class="cell" data-c="8" data-own aria-label=`) {
		t.Fatalf("the current cell is not the one marked (%d marked)", n)
	}
	i := strings.Index(body, `value="`+c.SymbolID(8)+`"`)
	if j := strings.Index(body[i:], "aria-pressed="); !strings.HasPrefix(body[i+j:], `aria-pressed="true"`) {
		t.Fatalf("cell %s not pressed", c.SymbolID(8))
	}
}

func TestCanonReaderPagesThroughASection(t *testing.T) {
	f := newFixture(t, nil)
	c := f.p.cast.Cast[7]
	_, pageID := seedPage(t, f, "A generated page", "generated text")
	res, body := do(t, "GET", f.ts.URL+"/canon/8", "", "")
	first := f.p.cast.Pages[c.StartPage]
	if res.StatusCode != 200 || !strings.Contains(body, htmlEsc(firstWords(first.Text, 6))) {
		t.Fatalf("canon section 8: %d", res.StatusCode)
	}
	if !strings.Contains(body, `href="/pages/`+pageID+`"`) {
		t.Fatal("the generated pages of the section are not listed")
	}
	if !strings.Contains(body, `rel="next" href="/canon/8/`+itoa(c.StartPage+1)+`"`) || !strings.Contains(body, `rel="prev" href="/canon/7/`) {
		t.Fatal("pager links")
	}
	second := f.p.cast.Pages[c.StartPage+1]
	res, body = do(t, "GET", f.ts.URL+"/canon/8/"+itoa(c.StartPage+1), "", "")
	if res.StatusCode != 200 || !strings.Contains(body, htmlEsc(firstWords(second.Text, 6))) {
		t.Fatalf("canon page: %d", res.StatusCode)
	}
	res, body = do(t, "GET", f.ts.URL+"/canon/8?page="+itoa(c.EndPage), "", "")
	if res.StatusCode != 200 || !strings.Contains(body, `rel="next" href="/canon/9/`) {
		t.Fatalf("last page of the section links to the next section: %d", res.StatusCode)
	}
	for _, u := range []string{"/canon/17", "/canon/0", "/canon/x", "/canon/8/" + itoa(c.EndPage+1), "/canon/8/abc"} {
		res, body := do(t, "GET", f.ts.URL+u, "", "")
		if res.StatusCode != 404 || !strings.Contains(body, "<h1>Not Found</h1>") {
			t.Fatalf("%s: %d", u, res.StatusCode)
		}
	}
}

func TestVaultPageListsSavedPages(t *testing.T) {
	f := newFixture(t, nil)
	sid, pageID := seedPage(t, f, "Worth keeping", "text")
	res, _ := postJSON(t, f.ts.URL+"/vault", map[string]any{"session_id": sid, "page_id": pageID, "label": "mine", "notes": "line one"})
	if res.StatusCode != 202 {
		t.Fatal(res.StatusCode)
	}
	res, body := do(t, "GET", f.ts.URL+"/vault", "", "", "Cookie", web.SessionCookie+"="+sid)
	if res.StatusCode != 200 || !strings.Contains(body, ">mine<") || !strings.Contains(body, "Worth keeping") || !strings.Contains(body, `href="/pages/`+pageID+`"`) || !strings.Contains(body, "line one") {
		t.Fatalf("vault page: %d", res.StatusCode)
	}
	_, frag := do(t, "GET", f.ts.URL+"/fragments/vault", "", "", "Cookie", web.SessionCookie+"="+sid)
	if !strings.Contains(frag, `id="vault-box"`) || !strings.Contains(frag, ">mine<") || strings.Contains(frag, "<html") {
		t.Fatalf("vault fragment: %s", frag)
	}
	_, empty := do(t, "GET", f.ts.URL+"/vault", "", "")
	if !strings.Contains(empty, "Nothing saved yet") {
		t.Fatal("vault without a session")
	}
	// A form save from a page view goes back to that page.
	res, _ = postForm(t, f.ts.URL+"/vault", url.Values{"session_id": {sid}, "page_id": {pageID}, "return": {"/pages/" + pageID}})
	if loc := res.Header.Get("Location"); res.StatusCode != 303 || !strings.HasPrefix(loc, "/pages/"+pageID+"?") {
		t.Fatalf("vault form: %d %q", res.StatusCode, loc)
	}
}

func TestActorsPageAndAdminEndpoints(t *testing.T) {
	f := newFixture(t, nil)
	res, body := do(t, "GET", f.ts.URL+"/actors", "", "")
	if res.StatusCode != 200 || !strings.Contains(body, "<th scope=\"row\">pagegen</th>") || !strings.Contains(body, "trap: &lt;unreachable&gt;") || !strings.Contains(body, ">12<") {
		t.Fatalf("actors html: %d", res.StatusCode)
	}
	if !strings.Contains(body, "Refused versions") || !strings.Contains(body, "self-test failed: &lt;b&gt;boom&lt;/b&gt;") || !strings.Contains(body, "<th scope=\"row\">lantern</th>") {
		t.Fatalf("actors html does not list the refused version with its (escaped) reason")
	}
	for _, u := range []string{"/actors?format=json", "/actors"} {
		res, body = do(t, "GET", f.ts.URL+u, "", "", "Accept", "application/json")
		var list []web.ActorInfo
		if res.StatusCode != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 1 || list[0].Calls != 12 || list[0].LastError == "" {
			t.Fatalf("actors json %s: %d %s", u, res.StatusCode, body)
		}
	}
	upload := func(token, name string, wasm []byte) (*http.Response, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("name", name)
		fw, _ := mw.CreateFormFile("wasm", "voice.wasm")
		fw.Write(wasm)
		mw.WriteField("manifest", `{"name":"`+name+`"}`)
		mw.Close()
		hdr := []string{}
		if token != "" {
			hdr = append(hdr, "Authorization", "Bearer "+token)
		}
		return do(t, "POST", f.ts.URL+"/admin/actors", mw.FormDataContentType(), buf.String(), hdr...)
	}
	wasm := append([]byte("\x00asm\x01\x00\x00\x00"), make([]byte, 100)...)
	if res, _ := upload("", "pagegen", wasm); res.StatusCode != 401 {
		t.Fatalf("no token: %d", res.StatusCode)
	}
	if res, _ := upload("wrong", "pagegen", wasm); res.StatusCode != 401 {
		t.Fatalf("wrong token: %d", res.StatusCode)
	}
	if res, body := upload("s3cret", "Bad Name", wasm); res.StatusCode != 400 || !strings.Contains(body, `"field":"name"`) {
		t.Fatalf("bad name: %d %s", res.StatusCode, body)
	}
	if res, body := upload("s3cret", "pagegen", []byte("nope")); res.StatusCode != 400 || !strings.Contains(body, "WebAssembly") {
		t.Fatalf("bad wasm: %d %s", res.StatusCode, body)
	}
	res, body = upload("s3cret", "pagegen", wasm)
	var info web.ActorInfo
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &info) != nil || info.Version != "2.0.0" {
		t.Fatalf("upload: %d %s", res.StatusCode, body)
	}
	if _, body := do(t, "GET", f.ts.URL+"/actors?format=json", "", ""); !strings.Contains(body, `"version":"2.0.0"`) {
		t.Fatal("the actors page does not show the new version")
	}
	rb := func(name, token string) (*http.Response, string) {
		return do(t, "POST", f.ts.URL+"/admin/actors/"+name+"/rollback", "", "", "Authorization", "Bearer "+token)
	}
	if res, _ := rb("pagegen", "wrong"); res.StatusCode != 401 {
		t.Fatalf("rollback with a wrong token: %d", res.StatusCode)
	}
	if res, body := rb("pagegen", "s3cret"); res.StatusCode != 200 || !strings.Contains(body, `"version":"1.0.0"`) {
		t.Fatalf("rollback: %d %s", res.StatusCode, body)
	}
	if res, _ := rb("pagegen", "s3cret"); res.StatusCode != 404 {
		t.Fatalf("second rollback: %d", res.StatusCode)
	}

	// Without a token the admin endpoints are off.
	off := newFixture(t, func(d *web.Deps) { d.AdminToken = "" })
	res, body = do(t, "POST", off.ts.URL+"/admin/actors/pagegen/rollback", "", "", "Authorization", "Bearer ")
	if res.StatusCode != 403 || !strings.Contains(body, "disabled") {
		t.Fatalf("disabled admin: %d %s", res.StatusCode, body)
	}
	_, html := do(t, "GET", off.ts.URL+"/actors", "", "")
	if !strings.Contains(html, "admin endpoints are disabled") {
		t.Fatal("actors page does not say admin is off")
	}
}

func TestHealthReadyStaticAndNotFound(t *testing.T) {
	ready := errors.New("broker not ready")
	f := newFixture(t, func(d *web.Deps) { d.Ready = func(context.Context) error { return ready } })
	if res, _ := do(t, "GET", f.ts.URL+"/healthz", "", ""); res.StatusCode != 200 {
		t.Fatalf("healthz %d", res.StatusCode)
	}
	if res, _ := do(t, "HEAD", f.ts.URL+"/healthz", "", ""); res.StatusCode != 200 {
		t.Fatalf("HEAD healthz %d", res.StatusCode)
	}
	if res, body := do(t, "GET", f.ts.URL+"/readyz", "", ""); res.StatusCode != 503 || !strings.Contains(body, "broker not ready") {
		t.Fatalf("readyz not ready: %d %s", res.StatusCode, body)
	}
	ready = nil
	if res, _ := do(t, "GET", f.ts.URL+"/readyz", "", ""); res.StatusCode != 200 {
		t.Fatalf("readyz ready: %d", res.StatusCode)
	}
	for _, a := range []struct{ path, ctype, want string }{
		{"/static/app.css", "text/css", ".grid"}, {"/static/app.js", "text/javascript", "EventSource"},
		{"/static/cast.css", "text/css", `.c8,[data-c="8"]{--c:`}, {"/static/glyphs/01.svg", "image/svg+xml", "<svg"},
	} {
		res, body := do(t, "GET", f.ts.URL+a.path, "", "", "Accept-Encoding", "gzip")
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), a.ctype) {
			t.Fatalf("%s: %d %s", a.path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if res.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(zr)
			body = string(b)
		}
		if !strings.Contains(body, a.want) {
			t.Fatalf("%s lacks %q", a.path, a.want)
		}
	}
	if res, _ := do(t, "GET", f.ts.URL+"/static/nope.js", "", ""); res.StatusCode != 404 {
		t.Fatalf("missing asset: %d", res.StatusCode)
	}
	if res, body := do(t, "GET", f.ts.URL+"/no/such/page", "", ""); res.StatusCode != 404 || !strings.Contains(body, "There is no page at /no/such/page") {
		t.Fatalf("404 page: %d", res.StatusCode)
	}
	if res, _ := do(t, "DELETE", f.ts.URL+"/ask", "", ""); res.StatusCode != 405 {
		t.Fatalf("DELETE /ask: %d", res.StatusCode)
	}
}

func TestStoreOutageIsAReadableError(t *testing.T) {
	f := newFixture(t, nil)
	f.p.st.Err = store.ErrUnavailable
	res, body := do(t, "GET", f.ts.URL+"/", "", "")
	if res.StatusCode != 503 || !strings.Contains(body, "not reachable") {
		t.Fatalf("reader with the store down: %d", res.StatusCode)
	}
	if res, _ := do(t, "GET", f.ts.URL+"/readyz", "", ""); res.StatusCode != 503 {
		t.Fatalf("readyz with the store down: %d", res.StatusCode)
	}
}

// ---- what a new reader's trial found ----

func TestPublicPagesDoNotShowTheSessionID(t *testing.T) {
	f := newFixture(t, nil)
	sid, pageID := seedPage(t, f, "A page to share", "Text worth sharing.")
	for _, u := range []string{
		"/api/pages/" + pageID, "/api/pages/" + pageID + "?session_id=" + sid,
		"/pages/" + pageID, "/fragments/pages/" + pageID, "/fragments/pages/" + pageID + "?session_id=" + sid,
		"/canon/8",
	} {
		res, body := do(t, "GET", f.ts.URL+u, "", "")
		if res.StatusCode != 200 || !strings.Contains(body, "A page to share") {
			t.Fatalf("%s: %d, or the page is missing", u, res.StatusCode)
		}
		if strings.Contains(body, sid) {
			t.Fatalf("%s shows the session id of the page's reader", u)
		}
	}
	_, body := do(t, "GET", f.ts.URL+"/api/pages/"+pageID, "", "")
	var fields map[string]any
	if err := json.Unmarshal([]byte(body), &fields); err != nil {
		t.Fatal(err)
	}
	if _, ok := fields["session_id"]; ok {
		t.Fatalf("page JSON has a session_id: %s", body)
	}
	if fields["page_id"] != pageID || fields["text"] != "Text worth sharing." {
		t.Fatalf("page JSON lost its content: %s", body)
	}
	// The session's owner, who has its id, still reads the page in the session's timeline.
	if _, own := do(t, "GET", f.ts.URL+"/api/sessions/"+sid+"/events", "", ""); !strings.Contains(own, pageID) {
		t.Fatal("the session's events lack its page")
	}
}

func TestSymbolIDMustMatchTheCharacterAndSection(t *testing.T) {
	f := newFixture(t, nil)
	f.p.generate = false
	sid := event.NewID()
	c, other := f.p.cast.Cast[1], f.p.cast.Cast[8]
	click := func(extra map[string]any) map[string]any {
		m := map[string]any{"session_id": sid, "character_id": c.ID, "section_id": 2, "orientation": "N"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"another section's symbol", click(map[string]any{"symbol_id": c.SymbolID(9)}), `must be "` + c.SymbolID(2) + `"`},
		{"another character's symbol", click(map[string]any{"symbol_id": other.SymbolID(2)}), `must be "` + c.SymbolID(2) + `"`},
		{"markup", click(map[string]any{"symbol_id": "<script>alert(1)</script>"}), `unknown symbol "<script>alert(1)</script>"`},
		{"an unknown symbol alone", map[string]any{"session_id": sid, "symbol_id": "S99-ZZ", "orientation": "N"}, `unknown symbol "S99-ZZ" (want S<1-16>-<code>)`},
	} {
		res, body := postJSON(t, f.ts.URL+"/event/ui/symbol", tc.body)
		var e struct{ Error, Field string }
		json.Unmarshal([]byte(body), &e)
		if res.StatusCode != 400 || e.Field != "symbol_id" || !strings.Contains(e.Error, tc.want) {
			t.Fatalf("%s: %d %s, want 400 on symbol_id saying %s", tc.name, res.StatusCode, body, tc.want)
		}
	}
	if n := len(f.p.publishedOf(event.TypeSymbol)); n != 0 {
		t.Fatalf("%d rejected clicks were published", n)
	}
	res, body := postJSON(t, f.ts.URL+"/event/ui/symbol", click(map[string]any{"symbol_id": c.SymbolID(2)}))
	if res.StatusCode != 202 {
		t.Fatalf("matching symbol: %d %s", res.StatusCode, body)
	}
	pub := f.p.publishedOf(event.TypeSymbol)
	var got event.SymbolClick
	if len(pub) != 1 || json.Unmarshal(pub[0].Payload, &got) != nil || got.SymbolID != c.SymbolID(2) || got.CharacterID != c.ID || got.SectionID != 2 {
		t.Fatalf("published: %+v", pub)
	}
}

func TestAskLimitIsTheServersAndSaidInBytes(t *testing.T) {
	f := newFixture(t, nil)
	f.p.generate = false
	sid := event.NewID()
	_, page := do(t, "GET", f.ts.URL+"/", "", "", "Cookie", web.SessionCookie+"="+sid)
	if !strings.Contains(page, `maxlength="`+itoa(event.MaxPromptBytes)+`"`) || !strings.Contains(page, "At most "+itoa(event.MaxPromptBytes)+" bytes") {
		t.Fatal("the ask form does not state the limit the server enforces")
	}
	full := strings.Repeat("é", event.MaxPromptBytes/2) // two bytes each: exactly the limit
	if res, body := postJSON(t, f.ts.URL+"/ask", map[string]any{"session_id": sid, "prompt": full}); res.StatusCode != 202 {
		t.Fatalf("a prompt of exactly %d bytes: %d %s", event.MaxPromptBytes, res.StatusCode, body)
	}
	res, body := postJSON(t, f.ts.URL+"/ask", map[string]any{"session_id": sid, "prompt": full + "é"})
	var e struct{ Error, Field string }
	json.Unmarshal([]byte(body), &e)
	want := itoa(event.MaxPromptBytes+2) + " bytes, at most " + itoa(event.MaxPromptBytes) + " bytes"
	if res.StatusCode != 400 || e.Field != "prompt" || !strings.Contains(e.Error, want) {
		t.Fatalf("one letter over: %d %s, want 400 on prompt saying %q", res.StatusCode, body, want)
	}
}

func TestBodyErrorsAreInPlainWords(t *testing.T) {
	f := newFixture(t, nil)
	f.p.generate = false
	sid := event.NewID()
	for _, tc := range []struct{ body, field, want string }{
		{`{"session_id":"` + sid + `","section_id":"two"}`, "section_id", "must be a number, got a JSON string"},
		{`{"session_id":"` + sid + `","section_id":1.5}`, "section_id", "must be a whole number, got 1.5"},
		{`[1,2]`, "body", "must be a JSON object, got a JSON array"},
		{`{"session_id":"` + sid + `","symbol_id":7}`, "symbol_id", "must be a string, got a JSON number"},
	} {
		res, body := do(t, "POST", f.ts.URL+"/event/ui/symbol", "application/json", tc.body)
		var e struct{ Error, Field string }
		json.Unmarshal([]byte(body), &e)
		if res.StatusCode != 400 || e.Field != tc.field || e.Error != tc.want {
			t.Fatalf("%s: %d %s, want 400 %s: %s", tc.body, res.StatusCode, body, tc.field, tc.want)
		}
	}
}

func TestErrorBannerShowsOnlyMessagesTheServerWrote(t *testing.T) {
	f := newFixture(t, nil)
	f.p.generate = false
	sid, pageID := seedPage(t, f, "A page", "text")
	cookie := web.SessionCookie + "=" + sid
	made := url.Values{"error": {"Your account is locked: call 555-0100"}, "field": {"prompt"}}
	for _, path := range []string{"/", "/pages/" + pageID} {
		for _, q := range []string{made.Encode(), made.Encode() + "&sig=AAAAAAAAAAAAAAAAAAAAAAAA"} {
			_, body := do(t, "GET", f.ts.URL+path+"?"+q, "", "", "Cookie", cookie)
			if strings.Contains(body, "account is locked") || strings.Contains(body, `class="notice error"`) {
				t.Fatalf("%s?%s shows a made-up error", path, q)
			}
		}
	}
	// A real input error comes back from the form post and is shown.
	res, _ := postForm(t, f.ts.URL+"/ask", url.Values{"session_id": {sid}, "prompt": {"  "}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "field=prompt") {
		t.Fatalf("empty prompt: %d %q", res.StatusCode, loc)
	}
	_, body := do(t, "GET", f.ts.URL+loc, "", "", "Cookie", cookie)
	if !strings.Contains(body, `class="notice error"`) || !strings.Contains(body, "write a question") {
		t.Fatal("the server's own error is not shown")
	}
	// The same address with its message changed shows nothing.
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("error", "Your account is locked")
	_, body = do(t, "GET", f.ts.URL+u.Path+"?"+q.Encode(), "", "", "Cookie", cookie)
	if strings.Contains(body, "account is locked") || strings.Contains(body, `class="notice error"`) {
		t.Fatal("a changed message was shown")
	}
}

func TestStreamReplaysAtOnceAfterALastEventIDThatIsNoEventID(t *testing.T) {
	// Were the stream to wait for the unknown id, it would wait an hour: next() gives up long before.
	t.Cleanup(web.SetCursorGrace(time.Hour))
	f := newFixture(t, nil)
	sid, _ := seedPage(t, f, "Replayed", "text")
	evs, err := f.p.st.Events(context.Background(), sid, "")
	if err != nil {
		t.Fatal(err)
	}
	var doneID string
	for _, ev := range evs {
		if ev.Type == event.TypePageDone {
			doneID = ev.EventID
		}
	}
	s := openStream(t, f.ts.URL+"/events/stream?session_id="+sid, "Last-Event-ID", "not-an-event-id")
	if got := s.nextID(); got != doneID {
		t.Fatalf("replay after a bad Last-Event-ID: got %q, want %q", got, doneID)
	}
}
