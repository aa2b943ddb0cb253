package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/session"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/templates"
)

// refreshWindow is how long a browser without JavaScript reloads while its page is written.
const refreshWindow = 30 * time.Second

func (s *Server) limits() templates.Limits {
	return templates.Limits{Prompt: event.MaxPromptBytes, Label: event.MaxLabelBytes, Notes: event.MaxNotesBytes}
}

// ReaderData folds a session into the reader page's data. now is used for the pending
// notice; query holds the page's query (error, field, pending, wait, since).
func (s *Server) readerData(st session.State, q url.Values, now time.Time) templates.Reader {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	d := templates.Reader{
		SessionID: st.SessionID, Orientation: st.Orientation, CharacterID: st.CharacterID,
		SectionID: st.SectionID, SymbolID: st.SymbolID, Characters: s.tchars, Sections: s.sections, Grid: s.grid,
		Glyphs: s.glyphs, Limits: s.limits(), Cursor: st.Cursor, Static: s.version,
	}
	if d.Orientation == "" {
		d.Orientation = session.DefaultOrientation
	}
	if n, ok := s.errorNotice(q); ok {
		d.Notice = n
	} else if p := get("pending"); event.ValidUUID(p) {
		since, _ := strconv.ParseInt(get("since"), 10, 64)
		fresh := now.Sub(time.Unix(since, 0)) < refreshWindow
		switch get("wait") {
		case "vault":
			saved := false
			for _, v := range st.Vault {
				saved = saved || v.EventID == p
			}
			if saved {
				d.Notice.Info = "Saved to the Vault."
			} else if fresh {
				d.Notice.Info = "Saving to the Vault…"
				d.Refresh = true
			}
		default:
			if pg, ok := st.Answered(p); ok {
				d.Notice.Info = "New page: " + pg.Title
			} else if fresh {
				d.Notice.Info = "Your page is being written… (this page reloads by itself)"
				d.Refresh = true
			}
		}
	}
	asks := map[string]string{}
	for i := len(st.Asks) - 1; i >= 0; i-- {
		a := st.Asks[i]
		asks[a.EventID] = a.Prompt
		h, iso := when(a.TS)
		item := templates.Ask{ID: a.EventID, Prompt: a.Prompt, When: h, WhenISO: iso, AnswerID: a.AnswerPageID}
		if pg, ok := st.Page(a.AnswerPageID); ok {
			item.AnswerTitle = pg.Title
		}
		d.Asks = append(d.Asks, item)
	}
	for _, p := range st.Latest(0) {
		tp := s.templPage(p)
		tp.Question = asks[p.AnswerTo]
		if p.AnswerTo != "" {
			d.Answers = append(d.Answers, tp)
		} else {
			d.Pages = append(d.Pages, tp)
		}
	}
	for _, v := range st.Vault {
		d.Vault = append(d.Vault, s.templVault(v))
	}
	return d
}

func (s *Server) templVault(v session.VaultItem) templates.VaultItem {
	h, iso := when(v.TS)
	return templates.VaultItem{EventID: v.EventID, PageID: v.PageID, Title: v.Title, Label: v.Label, Notes: v.Notes, When: h, WhenISO: iso}
}

func (s *Server) templPage(p session.Page) templates.Page {
	h, iso := when(p.TS)
	tp := templates.Page{
		ID: p.PageID, Title: p.Title, Text: p.Text, CharacterID: p.CharacterID,
		CharacterName: s.characterName(p.CharacterID), ColorClass: s.colorClass(p.CharacterID),
		Section: p.SectionID, Orientation: p.Orientation, Voice: p.Voice, When: h, WhenISO: iso,
		ParentID: p.ParentPageID, AnswerTo: p.AnswerTo,
		Why: templates.Why{
			Actor: p.Provenance.Actor, Version: p.Provenance.ActorVersion, Hash: p.Provenance.ActorHash,
			Voice: p.Provenance.Voice, Meaning: p.Provenance.Meaning, CauseEventID: p.Provenance.CauseEventID,
		},
	}
	if tp.Title == "" {
		tp.Title = "Untitled page"
	}
	seen := map[string]bool{}
	for _, src := range p.Provenance.Sources {
		ts := templates.Source{Excerpt: clipText(src.Excerpt, 400)}
		switch {
		case src.Generated != "":
			ts.Label, ts.Href = "an earlier page", "/pages/"+src.Generated
		case src.PageNumber > 0:
			sec := src.SectionID
			if sec < 1 || sec > 16 {
				if c, _, ok := s.character(src.CharacterID); ok {
					sec = c.Section
				}
			}
			ts.Label = "p. " + itoa(src.PageNumber) + " · " + s.characterName(src.CharacterID)
			ts.Href = "/canon/" + itoa(max(sec, 1)) + "/" + itoa(src.PageNumber)
		default:
			ts.Label, ts.Href = "passage "+clipText(src.PassageID, 40), "/canon/"+itoa(max(src.SectionID, 1))
		}
		if seen[ts.Href+ts.Excerpt] {
			continue
		}
		seen[ts.Href+ts.Excerpt] = true
		tp.Why.Sources = append(tp.Why.Sources, ts)
	}
	if len(p.Provenance.Sources) == 0 {
		for _, n := range p.Provenance.CorpusPages {
			sec := 1
			if c, ok := s.d.Cast.Page(n); ok {
				if ch, _, ok := s.character(c.CharacterID); ok {
					sec = ch.Section
				}
			}
			tp.Why.Sources = append(tp.Why.Sources, templates.Source{Label: "p. " + itoa(n), Href: "/canon/" + itoa(sec) + "/" + itoa(n)})
		}
	}
	return tp
}

func (s *Server) loadSession(ctx context.Context, sid string) (session.State, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return session.Load(ctx, s.d.Store, sid)
}

func (s *Server) handleReader(w http.ResponseWriter, r *http.Request) {
	sid := s.sessionFor(w, r)
	st, err := s.loadSession(r.Context(), sid)
	if err != nil {
		s.log.Error("load session", "session", sid, "err", err)
		s.fail(w, r, http.StatusServiceUnavailable, "", "The story store is not reachable right now; please try again in a moment.")
		return
	}
	s.html(w, r, http.StatusOK, templates.ReaderPage(s.readerData(st, r.URL.Query(), time.Now())))
}

// findPage finds a generated page's page.done by page id: in the hinted session's log
// first, then through pages_index. It returns the payload and the stored event.
func (s *Server) findPage(ctx context.Context, pageID, hintSession string) (event.PageDone, store.StoredEvent, error) {
	var tried string
	look := func(sid string) (event.PageDone, store.StoredEvent, bool, error) {
		tried = sid
		evs, err := s.d.Store.Events(ctx, sid, "")
		if err != nil {
			return event.PageDone{}, store.StoredEvent{}, false, err
		}
		needle := []byte(pageID)
		for i := len(evs) - 1; i >= 0; i-- {
			ev := evs[i]
			if ev.Type != event.TypePageDone || !bytes.Contains(ev.Payload, needle) {
				continue
			}
			var p event.PageDone
			if json.Unmarshal(ev.Payload, &p) == nil && p.PageID == pageID {
				return p, ev, true, nil
			}
		}
		return event.PageDone{}, store.StoredEvent{}, false, nil
	}
	if !event.ValidUUID(pageID) {
		return event.PageDone{}, store.StoredEvent{}, store.ErrNotFound
	}
	if event.ValidUUID(hintSession) {
		if p, ev, ok, err := look(hintSession); err != nil || ok {
			return p, ev, err
		}
	}
	row, err := s.d.Store.Page(ctx, pageID)
	if err != nil {
		return event.PageDone{}, store.StoredEvent{}, err
	}
	if row.SessionID == "" || row.SessionID == tried {
		return event.PageDone{}, store.StoredEvent{}, store.ErrNotFound
	}
	p, ev, ok, err := look(row.SessionID)
	if err == nil && !ok {
		err = store.ErrNotFound
	}
	return p, ev, err
}

// pageWithQuestion makes the template page of a page.done, with the question it answers.
func (s *Server) pageWithQuestion(ctx context.Context, p event.PageDone, ev store.StoredEvent) templates.Page {
	sp := session.Page{
		PageID: p.PageID, EventID: ev.EventID, TS: ev.TS, CharacterID: p.CharacterID, SectionID: p.SectionID,
		Orientation: p.Orientation, Voice: p.Voice, Title: p.Title, Text: p.Text, ParentPageID: p.ParentPageID,
		Provenance: p.Provenance,
	}
	tp := s.templPage(sp)
	if cause := p.Provenance.CauseEventID; cause != "" {
		if evs, err := s.d.Store.Events(ctx, ev.SessionID, ""); err == nil {
			for _, e := range evs {
				if e.EventID == cause && e.Type == event.TypeAsk {
					var a event.Ask
					if json.Unmarshal(e.Payload, &a) == nil {
						tp.AnswerTo, tp.Question = cause, a.Prompt
					}
				}
			}
		}
	}
	return tp
}

func (s *Server) pageLookup(w http.ResponseWriter, r *http.Request) (templates.Page, bool) {
	id := chi.URLParam(r, "page_id")
	if !event.ValidUUID(id) {
		s.fail(w, r, http.StatusBadRequest, "page_id", "must be a uuid")
		return templates.Page{}, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	p, ev, err := s.findPage(ctx, id, lookupHint(r))
	if isNotFound(err) {
		s.fail(w, r, http.StatusNotFound, "page_id", "There is no page "+id+".")
		return templates.Page{}, false
	}
	if err != nil {
		s.log.Error("find page", "page", id, "err", err)
		s.fail(w, r, http.StatusServiceUnavailable, "", "The story store is not reachable right now; please try again in a moment.")
		return templates.Page{}, false
	}
	return s.pageWithQuestion(ctx, p, ev), true
}

func (s *Server) handlePageView(w http.ResponseWriter, r *http.Request) {
	tp, ok := s.pageLookup(w, r)
	if !ok {
		return
	}
	d := templates.PageView{SessionID: knownSession(r), Page: tp, Limits: s.limits(), Static: s.version}
	if n, ok := s.errorNotice(r.URL.Query()); ok {
		d.Notice = n
	} else if r.URL.Query().Get("wait") == "vault" {
		d.Notice.Info = "Saved to the Vault."
	}
	s.html(w, r, http.StatusOK, templates.PageViewPage(d))
}

func (s *Server) handlePageFragment(w http.ResponseWriter, r *http.Request) {
	tp, ok := s.pageLookup(w, r)
	if !ok {
		return
	}
	s.html(w, r, http.StatusOK, templates.PageCard(tp, knownSession(r), s.limits()))
}

func (s *Server) handleVaultFragment(w http.ResponseWriter, r *http.Request) {
	st, ok := s.knownState(w, r)
	if !ok {
		return
	}
	items := make([]templates.VaultItem, 0, len(st.Vault))
	for _, v := range st.Vault {
		items = append(items, s.templVault(v))
	}
	s.html(w, r, http.StatusOK, templates.VaultList(items))
}

// knownState loads the session of ?session_id= or the cookie (an empty one when neither).
func (s *Server) knownState(w http.ResponseWriter, r *http.Request) (session.State, bool) {
	sid := knownSession(r)
	if sid == "" {
		return session.New(""), true
	}
	st, err := s.loadSession(r.Context(), sid)
	if err != nil {
		s.log.Error("load session", "session", sid, "err", err)
		s.fail(w, r, http.StatusServiceUnavailable, "", "The story store is not reachable right now; please try again in a moment.")
		return st, false
	}
	return st, true
}

func (s *Server) handleVaultPage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.knownState(w, r)
	if !ok {
		return
	}
	d := templates.VaultPage{SessionID: st.SessionID, Static: s.version}
	for _, v := range st.Vault {
		d.Items = append(d.Items, s.templVault(v))
	}
	s.html(w, r, http.StatusOK, templates.VaultView(d))
}

func (s *Server) handleCanon(w http.ResponseWriter, r *http.Request) {
	sec, err := strconv.Atoi(chi.URLParam(r, "section"))
	if err != nil || sec < 1 || sec > 16 {
		s.fail(w, r, http.StatusNotFound, "section", "Sections are numbered 1 to 16.")
		return
	}
	c, idx, ok := s.bySection(sec)
	if !ok || c.StartPage < 1 || c.EndPage < c.StartPage {
		s.fail(w, r, http.StatusNotFound, "section", "The corpus has no pages for section "+itoa(sec)+".")
		return
	}
	n := c.StartPage
	ps := chi.URLParam(r, "page")
	if ps == "" {
		ps = r.URL.Query().Get("page")
	}
	if ps != "" {
		if n, err = strconv.Atoi(ps); err != nil {
			s.fail(w, r, http.StatusNotFound, "page", "Pages are numbered; "+clipText(ps, 20)+" is not a number.")
			return
		}
	}
	if n < c.StartPage || n > c.EndPage {
		s.fail(w, r, http.StatusNotFound, "page", "Page "+itoa(n)+" is not in section "+itoa(sec)+" (pages "+itoa(c.StartPage)+"–"+itoa(c.EndPage)+").")
		return
	}
	pg, ok := s.d.Cast.Page(n)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "page", "The corpus has no page "+itoa(n)+".")
		return
	}
	d := templates.Canon{
		SessionID: knownSession(r), Sections: s.sections, Cast: s.tchars,
		Section: s.sections[sec-1], Character: s.tchars[idx-1],
		Page:  templates.CanonPage{Number: n, Title: pg.Title, Text: pg.Text, Character: s.tchars[idx-1]},
		First: c.StartPage, Last: c.EndPage, Static: s.version,
	}
	if d.Page.Title == "" {
		d.Page.Title = c.SectionTitle
	}
	if n > c.StartPage {
		d.Prev, d.PrevHref = n-1, "/canon/"+itoa(sec)+"/"+itoa(n-1)
	} else if pc, _, ok := s.bySection(sec - 1); ok && pc.EndPage > 0 {
		d.PrevHref = "/canon/" + itoa(sec-1) + "/" + itoa(pc.EndPage)
	}
	if n < c.EndPage {
		d.Next, d.NextHref = n+1, "/canon/"+itoa(sec)+"/"+itoa(n+1)
	} else if nc, _, ok := s.bySection(sec + 1); ok && nc.StartPage > 0 {
		d.NextHref = "/canon/" + itoa(sec+1) + "/" + itoa(nc.StartPage)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var gen []store.Page
	for _, ch := range s.chars {
		ps, err := s.d.Store.PagesByCell(ctx, ch.ID, sec, 10)
		if err != nil {
			s.log.Warn("pages by cell", "character", ch.ID, "section", sec, "err", err)
			break
		}
		gen = append(gen, ps...)
	}
	sort.SliceStable(gen, func(i, j int) bool { return gen[i].Created.After(gen[j].Created) })
	if len(gen) > 30 {
		gen = gen[:30]
	}
	for _, p := range gen {
		h, iso := when(p.Created)
		d.Generated = append(d.Generated, templates.Page{ID: p.PageID, Title: p.Title, Text: clipText(p.Excerpt, 300), CharacterID: p.CharacterID, Section: p.SectionID, When: h, WhenISO: iso})
	}
	s.html(w, r, http.StatusOK, templates.CanonView(d))
}
