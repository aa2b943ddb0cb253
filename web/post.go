package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gibsey/gibsey/host/event"
)

// The POST endpoints take JSON (API clients, the page's script) or a form (the page
// without JavaScript). JSON gets JSON answers: 202 {"event_id"} or 4xx {"error","field"}.
// A form gets 303 back to the page it came from, with the error or the pending event in
// the query, unless it asks for JSON with Accept: application/json.

type symbolInput struct {
	SessionID   string `json:"session_id"`
	CharacterID string `json:"character_id"`
	SectionID   *int   `json:"section_id"` // nil when absent (then read from symbol_id)
	SymbolID    string `json:"symbol_id"`
	Orientation string `json:"orientation"`
}

type orientationInput struct {
	SessionID   string `json:"session_id"`
	Orientation string `json:"orientation"`
	CharacterID string `json:"character_id"`
	SectionID   int    `json:"section_id"`
}

type askInput struct {
	SessionID string           `json:"session_id"`
	Prompt    string           `json:"prompt"`
	Context   event.AskContext `json:"context"`
}

type vaultInput struct {
	SessionID string `json:"session_id"`
	PageID    string `json:"page_id"`
	Label     string `json:"label"`
	Notes     string `json:"notes"`
}

// postReq is a decoded POST: whether it came from a form, and where a form goes back to.
type postReq struct {
	form bool
	ret  string
}

// decode reads the body into dst (JSON) or through fromForm (a form), within the size cap.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, dst any, fromForm func(url.Values) error) (postReq, error) {
	r.Body = http.MaxBytesReader(w, r.Body, s.d.MaxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	pr := postReq{ret: "/"}
	switch ct {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		pr.form = true
		var err error
		if ct == "multipart/form-data" {
			err = r.ParseMultipartForm(s.d.MaxBody)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			return pr, bodyError(err, s.d.MaxBody)
		}
		pr.ret = safeReturn(r.PostForm.Get("return"))
		return pr, fromForm(r.PostForm)
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(dst); err != nil {
		return pr, bodyError(err, s.d.MaxBody)
	}
	if dec.More() {
		return pr, event.Fieldf("body", "must hold one JSON object")
	}
	return pr, nil
}

func bodyError(err error, max int64) error {
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return event.Fieldf("body", "request body larger than %d bytes", max)
	case errors.As(err, &ute):
		f := ute.Field
		if f == "" {
			f = "body"
		}
		want := jsonKind(ute.Type)
		if want == "a number" && strings.HasPrefix(ute.Value, "number ") {
			return event.Fieldf(f, "must be a whole number, got %s", clipText(strings.TrimPrefix(ute.Value, "number "), 32))
		}
		return event.Fieldf(f, "must be %s, got a JSON %s", want, plainJSONValue(ute.Value))
	case errors.As(err, &se):
		return event.Fieldf("body", "not valid JSON: %v", err)
	case err.Error() == "EOF":
		return event.Fieldf("body", "empty; want a JSON object")
	}
	return event.Fieldf("body", "unreadable: %v", err)
}

// jsonKind names, in plain words, the JSON value a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.Map, reflect.Struct:
		return "a JSON object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another kind of value"
}

// plainJSONValue names the kind of JSON value encoding/json says it found
// ("number 1.5" → "number").
func plainJSONValue(v string) string {
	switch {
	case strings.HasPrefix(v, "number"):
		return "number"
	case v == "":
		return "value"
	}
	return v
}

// safeReturn keeps a form's return path on this host.
func safeReturn(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/"
	}
	if u, err := url.Parse(p); err == nil && u.Path != "" {
		return u.Path
	}
	return "/"
}

func formInt(v url.Values, field string, dst *int) error {
	s := strings.TrimSpace(v.Get(field))
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return event.Fieldf(field, "must be a number, got %q", clipText(s, 32))
	}
	*dst = n
	return nil
}

// formSession takes the form's session_id, or the cookie's when the form has none.
func formSession(r *http.Request, v url.Values) string {
	if sid := v.Get("session_id"); sid != "" {
		return sid
	}
	return cookieSession(r)
}

func checkSession(sid string) error {
	if sid == "" {
		return event.Fieldf("session_id", "required (a uuid)")
	}
	if !event.ValidUUID(sid) {
		return event.Fieldf("session_id", "must be a uuid, got %q", clipText(sid, 64))
	}
	return nil
}

// reject answers an input error: 400 JSON, or a redirect that shows it on the page.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, pr postReq, status int, err error) {
	var fe *event.FieldError
	msg, field := err.Error(), ""
	if errors.As(err, &fe) {
		msg, field = fe.Msg, fe.Field
	}
	if pr.form && !wantsJSON(r) {
		q := s.errorQuery(field, msg)
		http.Redirect(w, r, pr.ret+"?"+q.Encode()+"#notice", http.StatusSeeOther)
		return
	}
	writeJSON(w, status, apiError{Error: msg, Field: field})
}

// publish sends the envelope and answers 202 (or redirects a form back, waiting for wait:
// "page" or "vault").
func (s *Server) publish(w http.ResponseWriter, r *http.Request, pr postReq, typ, sid string, payload any, wait string) {
	env, err := event.New(typ, sid, event.ActorUser, payload)
	if err != nil {
		s.reject(w, r, pr, http.StatusBadRequest, err)
		return
	}
	env.Provenance.Client = s.d.Client
	if err := env.Validate(); err != nil {
		s.reject(w, r, pr, http.StatusBadRequest, err)
		return
	}
	if _, err := env.DecodePayload(); err != nil {
		s.reject(w, r, pr, http.StatusBadRequest, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := s.d.Publisher.Publish(ctx, env); err != nil {
		s.log.Error("publish", "type", typ, "session", sid, "err", err)
		s.reject(w, r, pr, http.StatusServiceUnavailable, fmt.Errorf("the event could not be queued, please try again: %v", err))
		return
	}
	if pr.form && !wantsJSON(r) {
		if cookieSession(r) != sid {
			s.setCookie(w, sid)
		}
		q := url.Values{"pending": {env.EventID}, "wait": {wait}, "since": {strconv.FormatInt(time.Now().Unix(), 10)}}
		frag := "#pages"
		switch wait {
		case "vault":
			frag = "#vault"
		case "answer":
			frag = "#receive-h"
		}
		http.Redirect(w, r, pr.ret+"?"+q.Encode()+frag, http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"event_id": env.EventID, "session_id": sid})
}

func (s *Server) handleSymbol(w http.ResponseWriter, r *http.Request) {
	var in symbolInput
	pr, err := s.decode(w, r, &in, func(v url.Values) error {
		in.SessionID = formSession(r, v)
		in.CharacterID, in.SymbolID, in.Orientation = v.Get("character_id"), v.Get("symbol_id"), v.Get("orientation")
		if strings.TrimSpace(v.Get("section_id")) == "" {
			return nil
		}
		in.SectionID = new(int)
		return formInt(v, "section_id", in.SectionID)
	})
	if err == nil {
		err = s.checkSymbol(&in)
	}
	if err != nil {
		s.reject(w, r, pr, http.StatusBadRequest, err)
		return
	}
	s.publish(w, r, pr, event.TypeSymbol, in.SessionID, event.SymbolClick{
		CharacterID: in.CharacterID, SectionID: *in.SectionID, SymbolID: in.SymbolID, Orientation: in.Orientation,
	}, "page")
}

// checkSymbol validates a symbol click; a missing character or section is read from the
// symbol id ("S8-PR"), and a missing symbol id is made from them.
func (s *Server) checkSymbol(in *symbolInput) error {
	if err := checkSession(in.SessionID); err != nil {
		return err
	}
	if in.SymbolID != "" && (in.CharacterID == "" || in.SectionID == nil) {
		c, n, ok := s.parseSymbol(in.SymbolID)
		if !ok {
			return unknownSymbol(in.SymbolID)
		}
		if in.CharacterID == "" {
			in.CharacterID = c.ID
		}
		if in.SectionID == nil {
			in.SectionID = &n
		}
	}
	c, _, ok := s.character(in.CharacterID)
	switch {
	case in.CharacterID == "":
		return event.Fieldf("character_id", "required (or give symbol_id, e.g. \"S8-PR\")")
	case !ok:
		return event.Fieldf("character_id", "unknown character %q", clipText(in.CharacterID, 64))
	case in.SectionID == nil:
		return event.Fieldf("section_id", "required (1 to 16)")
	case *in.SectionID < 1 || *in.SectionID > 16:
		return event.Fieldf("section_id", "must be between 1 and 16, got %d", *in.SectionID)
	case !event.ValidOrientation(in.Orientation):
		return event.Fieldf("orientation", "must be one of N, E, S, W, got %q", clipText(in.Orientation, 16))
	}
	want := c.SymbolID(*in.SectionID)
	switch {
	case in.SymbolID == "" || strings.EqualFold(in.SymbolID, want):
		in.SymbolID = want
	case !symbolRE.MatchString(in.SymbolID):
		return unknownSymbol(in.SymbolID)
	default:
		return event.Fieldf("symbol_id", "must be %q for character %s in section %d, got %q", want, c.ID, *in.SectionID, clipText(in.SymbolID, 64))
	}
	return nil
}

// symbolRE is the shape of a symbol id: section and character code, "S8-PR".
var symbolRE = regexp.MustCompile(`^[Ss]([1-9]|1[0-6])-[A-Za-z0-9]{1,8}$`)

func unknownSymbol(sym string) error {
	return event.Fieldf("symbol_id", "unknown symbol %q (want S<1-16>-<code>)", clipText(sym, 64))
}

func (s *Server) handleOrientation(w http.ResponseWriter, r *http.Request) {
	var in orientationInput
	pr, err := s.decode(w, r, &in, func(v url.Values) error {
		in.SessionID = formSession(r, v)
		in.Orientation, in.CharacterID = v.Get("orientation"), v.Get("character_id")
		return formInt(v, "section_id", &in.SectionID)
	})
	if err == nil {
		err = checkSession(in.SessionID)
	}
	if err == nil {
		switch {
		case !event.ValidOrientation(in.Orientation):
			err = event.Fieldf("orientation", "must be one of N, E, S, W, got %q", clipText(in.Orientation, 16))
		case in.CharacterID != "" && s.byID[in.CharacterID] == 0:
			err = event.Fieldf("character_id", "unknown character %q", clipText(in.CharacterID, 64))
		case in.SectionID < 0 || in.SectionID > 16:
			err = event.Fieldf("section_id", "must be between 1 and 16, got %d", in.SectionID)
		}
	}
	if err != nil {
		s.reject(w, r, pr, http.StatusBadRequest, err)
		return
	}
	s.publish(w, r, pr, event.TypeOrientation, in.SessionID, event.OrientationTurn{
		Orientation: in.Orientation, CharacterID: in.CharacterID, SectionID: in.SectionID,
	}, "page")
}

// MaxSymbols caps the symbols sent as an ask's context.
const maxSymbols = 32

func (s *Server) handleAsk(w http.ResponseWriter, r *http.Request) {
	var in askInput
	pr, err := s.decode(w, r, &in, func(v url.Values) error {
		in.SessionID = formSession(r, v)
		in.Prompt = v.Get("prompt")
		for _, sym := range v["symbols"] {
			if sym != "" {
				in.Context.Symbols = append(in.Context.Symbols, sym)
			}
		}
		return nil
	})
	if err == nil {
		err = checkSession(in.SessionID)
	}
	if err == nil {
		in.Prompt = strings.ReplaceAll(in.Prompt, "\r\n", "\n")
		switch {
		case strings.TrimSpace(in.Prompt) == "":
			err = event.Fieldf("prompt", "required: write a question")
		case len(in.Prompt) > event.MaxPromptBytes:
			err = event.Fieldf("prompt", "too long: %d bytes, at most %d bytes (a letter outside plain English takes 2 to 4 bytes); please shorten the question", len(in.Prompt), event.MaxPromptBytes)
		case !utf8.ValidString(in.Prompt):
			err = event.Fieldf("prompt", "must be UTF-8 text")
		case len(in.Context.Symbols) > maxSymbols:
			err = event.Fieldf("context.symbols", "at most %d symbols, got %d", maxSymbols, len(in.Context.Symbols))
		}
		for _, sym := range in.Context.Symbols {
			if err == nil && (len(sym) > 64 || !utf8.ValidString(sym)) {
				err = event.Fieldf("context.symbols", "each symbol at most 64 bytes of text")
			}
		}
	}
	if err != nil {
		s.reject(w, r, pr, http.StatusBadRequest, err)
		return
	}
	if in.Context.Symbols == nil {
		in.Context.Symbols = []string{}
	}
	s.publish(w, r, pr, event.TypeAsk, in.SessionID, event.Ask{Prompt: in.Prompt, Context: in.Context}, "answer")
}

func (s *Server) handleVault(w http.ResponseWriter, r *http.Request) {
	var in vaultInput
	pr, err := s.decode(w, r, &in, func(v url.Values) error {
		in.SessionID = formSession(r, v)
		in.PageID, in.Label, in.Notes = v.Get("page_id"), v.Get("label"), v.Get("notes")
		return nil
	})
	if err == nil {
		err = checkSession(in.SessionID)
	}
	if err == nil {
		in.Notes = strings.ReplaceAll(in.Notes, "\r\n", "\n")
		in.Label = strings.TrimSpace(in.Label)
		switch {
		case !event.ValidUUID(in.PageID):
			err = event.Fieldf("page_id", "must be a uuid, got %q", clipText(in.PageID, 64))
		case len(in.Label) > event.MaxLabelBytes:
			err = event.Fieldf("label", "too long: %d bytes, at most %d", len(in.Label), event.MaxLabelBytes)
		case len(in.Notes) > event.MaxNotesBytes:
			err = event.Fieldf("notes", "too long: %d bytes, at most %d", len(in.Notes), event.MaxNotesBytes)
		case !utf8.ValidString(in.Label) || !utf8.ValidString(in.Notes):
			err = event.Fieldf("label", "must be UTF-8 text")
		}
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		_, _, ferr := s.findPage(ctx, in.PageID, in.SessionID)
		cancel()
		switch {
		case isNotFound(ferr):
			err = event.Fieldf("page_id", "no page %s", in.PageID)
		case ferr != nil:
			s.reject(w, r, pr, http.StatusServiceUnavailable, fmt.Errorf("the store is not reachable: %v", ferr))
			return
		}
	}
	if err != nil {
		s.reject(w, r, pr, http.StatusBadRequest, err)
		return
	}
	s.publish(w, r, pr, event.TypeVault, in.SessionID, event.VaultSave{PageID: in.PageID, Label: in.Label, Notes: in.Notes}, "vault")
}
