package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/session"
	"github.com/gibsey/gibsey/host/session/memstore"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/web"
)

// ---- the cast: the project's sample corpus when present, else sixteen made-up characters ----

var (
	castOnce sync.Once
	castVal  web.StaticCast
)

func testCast(t testing.TB) web.StaticCast {
	castOnce.Do(func() { castVal = loadSampleCast("../examples/corpus") })
	return castVal
}

func loadSampleCast(dir string) web.StaticCast {
	c := web.StaticCast{Pages: map[int]web.CanonPage{}, Glyphs: map[string][]byte{}}
	var doc struct {
		Characters []struct {
			ID           string `json:"id"`
			Name         string `json:"name"`
			Section      int    `json:"section"`
			SectionTitle string `json:"section_title"`
			StartPage    int    `json:"start_page"`
			EndPage      int    `json:"end_page"`
			Color        string `json:"color"`
			Code         string `json:"demo_family_id"`
		} `json:"characters"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "characters.json"))
	if err == nil && json.Unmarshal(b, &doc) == nil && len(doc.Characters) == 16 {
		for _, ch := range doc.Characters {
			c.Cast = append(c.Cast, web.Character{ID: ch.ID, Name: ch.Name, Section: ch.Section, SectionTitle: ch.SectionTitle,
				StartPage: ch.StartPage, EndPage: ch.EndPage, Color: ch.Color, Code: ch.Code})
		}
		files, _ := filepath.Glob(filepath.Join(dir, "pages", "*.md"))
		num := regexp.MustCompile(`^(\d+)`)
		for _, f := range files {
			m := num.FindStringSubmatch(filepath.Base(f))
			if m == nil {
				continue
			}
			n, _ := strconv.Atoi(m[1])
			text, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, ch := range c.Cast {
				if n >= ch.StartPage && n <= ch.EndPage {
					c.Pages[n] = web.CanonPage{Number: n, CharacterID: ch.ID, Title: ch.SectionTitle, Text: strings.TrimSpace(string(text))}
				}
			}
		}
		if len(c.Pages) > 0 {
			return c
		}
		c.Cast = nil
	}
	// No sample corpus: sixteen characters with three pages of fixed words each.
	for i := 1; i <= 16; i++ {
		id := fmt.Sprintf("char-%02d", i)
		ch := web.Character{ID: id, Name: fmt.Sprintf("character %d", i), Section: i, SectionTitle: fmt.Sprintf("the %d section", i),
			StartPage: 3*i - 2, EndPage: 3 * i, Color: "#88AAFF", Code: fmt.Sprintf("C%X", i)}
		c.Cast = append(c.Cast, ch)
		for n := ch.StartPage; n <= ch.EndPage; n++ {
			c.Pages[n] = web.CanonPage{Number: n, CharacterID: id, Title: ch.SectionTitle,
				Text: fmt.Sprintf("Page %d of %s. The wheel turns and the lights come on.\n\nA second paragraph of page %d.", n, ch.Name, n)}
		}
	}
	return c
}

// ---- fakes ----

// hub is a Live for tests: every stored event of a session goes to its subscribers.
type hub struct {
	mu   sync.Mutex
	subs map[string][]chan store.StoredEvent
}

func newHub() *hub { return &hub{subs: map[string][]chan store.StoredEvent{}} }

func (h *hub) Subscribe(sid string) (<-chan store.StoredEvent, func()) {
	ch := make(chan store.StoredEvent, 256)
	h.mu.Lock()
	h.subs[sid] = append(h.subs[sid], ch)
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			l := h.subs[sid]
			for i, c := range l {
				if c == ch {
					h.subs[sid] = append(l[:i], l[i+1:]...)
				}
			}
		})
	}
}

func (h *hub) notify(ev store.StoredEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.subs[ev.SessionID] {
		select {
		case c <- ev:
		default:
		}
	}
}

func (h *hub) subscribers(sid string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[sid])
}

// pipeline is a TEST DOUBLE of the real flow (bus → stream → actors → writers), just enough
// to exercise the reader's UI: every published event is stored and announced; a symbol
// click or a question gets a generated page at once; dial turns are debounced per session
// (last value wins) and then get one page; a Vault save is stored. Page text is taken from
// the character's canon pages.
type pipeline struct {
	t        testing.TB
	st       *memstore.Store
	live     *hub
	cast     web.StaticCast
	debounce time.Duration
	generate bool // whether pages are written at all

	mu        sync.Mutex
	published []event.Envelope
	timers    map[string]*time.Timer
	failWith  error
	closed    bool
	wg        sync.WaitGroup
}

func newPipeline(t testing.TB) *pipeline {
	p := &pipeline{t: t, st: memstore.New(), live: newHub(), cast: testCast(t), debounce: time.Second,
		generate: true, timers: map[string]*time.Timer{}}
	t.Cleanup(p.close)
	return p
}

func (p *pipeline) close() {
	p.mu.Lock()
	p.closed = true
	for _, tm := range p.timers {
		if tm.Stop() {
			p.wg.Done()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *pipeline) Publish(ctx context.Context, env event.Envelope) error {
	p.mu.Lock()
	if p.failWith != nil {
		err := p.failWith
		p.mu.Unlock()
		return err
	}
	p.published = append(p.published, env)
	gen := p.generate && !p.closed
	p.mu.Unlock()
	if err := p.store(env); err != nil {
		return err
	}
	if !gen {
		return nil
	}
	switch env.Type {
	case event.TypeSymbol, event.TypeAsk:
		p.async(func() { p.writePage(env) })
	case event.TypeOrientation:
		p.mu.Lock()
		if tm := p.timers[env.SessionID]; tm != nil && tm.Stop() {
			p.wg.Done()
		}
		p.wg.Add(1)
		p.timers[env.SessionID] = time.AfterFunc(p.debounce, func() {
			defer p.wg.Done()
			p.writePage(env)
		})
		p.mu.Unlock()
	case event.TypeVault:
		var v event.VaultSave
		json.Unmarshal(env.Payload, &v)
		p.st.SaveVault(ctx, store.VaultEntry{SessionID: env.SessionID, Saved: env.TS, PageID: v.PageID, Label: v.Label, Notes: v.Notes})
	}
	return nil
}

func (p *pipeline) async(f func()) {
	p.wg.Add(1)
	go func() { defer p.wg.Done(); f() }()
}

func (p *pipeline) store(env event.Envelope) error {
	ev := store.FromEnvelope(env, event.HeadersFor(env))
	if _, err := p.st.AppendEvent(context.Background(), ev); err != nil {
		return err
	}
	p.live.notify(ev)
	return nil
}

func (p *pipeline) publishedOf(typ string) []event.Envelope {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []event.Envelope
	for _, e := range p.published {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// writePage writes the page that answers cause.
func (p *pipeline) writePage(cause event.Envelope) {
	ctx := context.Background()
	st, err := session.Load(ctx, p.st, cause.SessionID)
	if err != nil {
		return
	}
	charID, sec, orient, voice := st.CharacterID, st.SectionID, st.Orientation, "pagegen"
	title := ""
	switch cause.Type {
	case event.TypeSymbol:
		var s event.SymbolClick
		json.Unmarshal(cause.Payload, &s)
		charID, sec, orient = s.CharacterID, s.SectionID, s.Orientation
	case event.TypeOrientation:
		var o event.OrientationTurn
		json.Unmarshal(cause.Payload, &o)
		orient = o.Orientation
		if o.CharacterID != "" {
			charID, sec = o.CharacterID, o.SectionID
		}
	case event.TypeAsk:
		var a event.Ask
		json.Unmarshal(cause.Payload, &a)
		voice, title = "analyst", "An answer to: "+a.Prompt
	}
	if charID == "" {
		charID, sec = p.cast.Cast[0].ID, 1
	}
	text, pages := p.composeFrom(charID, orient)
	if title == "" {
		title = fmt.Sprintf("%s, section %d, facing %s", charID, sec, orient)
	}
	pd := event.PageDone{
		PageID: event.NewID(), SessionID: cause.SessionID, CharacterID: charID, SectionID: sec, Orientation: orient,
		Voice: voice, Title: title, Text: text,
		Provenance: event.PageProvenance{Actor: "test-pagegen", ActorVersion: "0.0.1", ActorHash: "sha256:0123456789abcdef0123",
			Voice: voice, CauseEventID: cause.EventID, CorpusPages: pages},
	}
	for _, n := range pages {
		pd.Provenance.Sources = append(pd.Provenance.Sources, event.Source{PassageID: fmt.Sprintf("p%d", n), PageNumber: n, CharacterID: charID, Excerpt: firstWords(p.cast.Pages[n].Text, 12)})
	}
	env, err := event.New(event.TypePageDone, cause.SessionID, event.ActorAgent, pd)
	if err != nil {
		p.t.Errorf("test pipeline: %v", err)
		return
	}
	p.st.PutPage(ctx, store.Page{PageID: pd.PageID, CharacterID: charID, SectionID: sec, SessionID: cause.SessionID, Title: title, Excerpt: firstWords(text, 30), Created: env.TS})
	p.store(env)
}

// composeFrom takes a passage of the character's canon pages, chosen by orientation.
func (p *pipeline) composeFrom(charID, orient string) (string, []int) {
	var nums []int
	for n, pg := range p.cast.Pages {
		if pg.CharacterID == charID {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	if len(nums) == 0 {
		return "The wheel turns.", nil
	}
	i := strings.Index("NESW", orient)
	if i < 0 {
		i = 0
	}
	n := nums[i%len(nums)]
	paras := strings.Split(p.cast.Pages[n].Text, "\n\n")
	text := paras[0]
	if len(paras) > 1 {
		text += "\n\n" + paras[len(paras)-1]
	}
	return text, []int{n}
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = f[:n]
	}
	return strings.Join(f, " ")
}

// actors is a fake actor runtime.
type actors struct {
	mu   sync.Mutex
	list []web.ActorInfo
	prev map[string]web.ActorInfo
}

func newActors() *actors {
	return &actors{list: []web.ActorInfo{{Name: "pagegen", Version: "1.0.0", Hash: "sha256:aaaaaaaaaaaaaaaaaaaa", Voice: "pagegen", Calls: 12, Errors: 1, Timeouts: 0, LastError: "trap: <unreachable>"}}, prev: map[string]web.ActorInfo{}}
}

func (a *actors) Refusals() []web.ActorRefusal {
	return []web.ActorRefusal{{Name: "lantern", Source: "plugins/lantern.wasm", Hash: "abcdef0123456789", Reason: "self-test failed: <b>boom</b>", At: time.Unix(1700000000, 0)}}
}

func (a *actors) List() []web.ActorInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]web.ActorInfo(nil), a.list...)
}

func (a *actors) Upload(ctx context.Context, name string, wasm, manifest []byte) (web.ActorInfo, error) {
	if string(wasm[:4]) != "\x00asm" {
		return web.ActorInfo{}, errors.New("wasm: not a WebAssembly module")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	info := web.ActorInfo{Name: name, Version: "2.0.0", Hash: fmt.Sprintf("sha256:%x", len(wasm)), Voice: name}
	for i, x := range a.list {
		if x.Name == name {
			a.prev[name] = x
			a.list[i] = info
			return info, nil
		}
	}
	a.list = append(a.list, info)
	return info, nil
}

func (a *actors) Rollback(ctx context.Context, name string) (web.ActorInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, ok := a.prev[name]
	if !ok {
		return web.ActorInfo{}, fmt.Errorf("actor %q has no previous version: %w", name, web.ErrNotFound)
	}
	for i, x := range a.list {
		if x.Name == name {
			a.list[i] = old
		}
	}
	delete(a.prev, name)
	return old, nil
}

// ---- the server under test ----

type fixture struct {
	p   *pipeline
	srv *web.Server
	ts  *httptest.Server
	act *actors
}

func newFixture(t testing.TB, mod func(*web.Deps)) *fixture {
	p := newPipeline(t)
	act := newActors()
	d := web.Deps{Store: p.st, Publisher: p, Cast: p.cast, Live: p.live, Actors: act, AdminToken: "s3cret", Heartbeat: time.Hour}
	if mod != nil {
		mod(&d)
	}
	srv := web.New(d)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &fixture{p: p, srv: srv, ts: ts, act: act}
}

// client does not follow redirects (the tests look at them).
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}

func do(t testing.TB, method, url, ctype, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func postJSON(t testing.TB, url string, v any, hdr ...string) (*http.Response, string) {
	t.Helper()
	b, _ := json.Marshal(v)
	return do(t, "POST", url, "application/json", string(b), hdr...)
}

func postForm(t testing.TB, url string, v url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	return do(t, "POST", url, "application/x-www-form-urlencoded", v.Encode(), hdr...)
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pageDones returns the session's stored pages, in order.
func pageDones(t testing.TB, st store.Store, sid string) []event.PageDone {
	t.Helper()
	evs, err := st.Events(context.Background(), sid, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []event.PageDone
	for _, ev := range evs {
		if ev.Type == event.TypePageDone {
			var p event.PageDone
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}
