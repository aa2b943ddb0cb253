package authoring

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gibsey/gibsey/host/actors"
	"github.com/gibsey/gibsey/host/corpus"
	"github.com/gibsey/gibsey/host/event"
)

// RunOptions says which actor to run against which event.
type RunOptions struct {
	// Wasm is the actor's module.
	Wasm string
	// Manifest is its manifest (default: NAME.manifest.json beside the .wasm).
	Manifest string
	// Event is a JSON file: an event envelope (generate.page.request, ui.symbol or ask), or a
	// bare page request (the payload of generate.page.request).
	Event string
	// Corpus is the corpus folder the actor retrieves from (default: examples/corpus of the
	// checkout).
	Corpus string
}

// RunResult is what one offline run produced.
type RunResult struct {
	Actor   actors.Info        `json:"actor"`
	Request event.PageRequest  `json:"request"`
	Page    *event.PageDone    `json:"page,omitempty"`
	Meaning string             `json:"meaning,omitempty"`
	Logs    []string           `json:"logs,omitempty"`
	Result  *actors.Result     `json:"-"`
	Prov    *actors.Provenance `json:"-"`
}

// Run installs one actor in a fresh runtime over an offline Env (the corpus, the hash
// embedder, state in memory, no generator) — which runs its manifest's self-test, as the host
// does — and calls it with the event. It returns the page (or, for an actor that only
// interprets symbols, the meaning).
func Run(ctx context.Context, o RunOptions) (*RunResult, error) {
	if o.Wasm == "" {
		return nil, errors.New("run: which .wasm? (gibsey actor run FILE.wasm --event FILE.json)")
	}
	if o.Event == "" {
		return nil, errors.New("run: --event FILE.json is required (see examples/events/)")
	}
	wasm, err := os.ReadFile(o.Wasm)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	if o.Manifest == "" {
		o.Manifest = ManifestFor(o.Wasm)
	}
	m, err := ReadManifest(o.Manifest)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	if o.Corpus == "" {
		root, err := FindRoot(".")
		if err != nil {
			return nil, fmt.Errorf("run: no --corpus given and %w", err)
		}
		o.Corpus = root + "/examples/corpus"
	}
	env, c, err := NewOfflineEnv(o.Corpus)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	call, err := LoadEvent(o.Event, m, c)
	if err != nil {
		return nil, err
	}

	logs := &lineLog{}
	rt, err := actors.New(ctx, actors.Config{Env: env, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{ReplaceAttr: dropTime})), PoolSize: 1})
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	defer rt.Close(context.Background())
	info, err := rt.Install(ctx, wasm, m)
	if err != nil {
		return &RunResult{Request: call.Request, Logs: logs.Lines()}, fmt.Errorf("run: the actor was refused: %w", err)
	}
	res := &RunResult{Actor: info, Request: call.Request}
	if !m.HandlesKind(actors.KindPage) {
		if m.Voice != actors.VoiceSymbols {
			return res, fmt.Errorf("run: %s handles %v, and only the %q voice is asked to interpret", m.Name, m.Handles, actors.VoiceSymbols)
		}
		meaning, prov, err := rt.Interpret(ctx, call)
		res.Logs = logs.Lines()
		if err != nil {
			return res, err
		}
		res.Meaning, res.Prov = meaning, &prov
		return res, nil
	}
	out, err := rt.Generate(ctx, m.Voice, call)
	res.Logs = logs.Lines()
	if err != nil {
		return res, err
	}
	res.Result = &out
	res.Page = &event.PageDone{
		PageID: event.NewID(), SessionID: call.SessionID, CharacterID: call.Request.CharacterID,
		SectionID: call.Request.SectionID, Orientation: call.Request.Orientation, Voice: m.Voice,
		Title: out.Title, Text: out.Text, ParentPageID: call.Request.ParentPageID,
		Provenance: out.PageProvenance(call.Request, call.Request.CauseEventID),
	}
	if err := res.Page.Validate(); err != nil {
		return res, fmt.Errorf("run: the actor's page would be refused by the host: %w", err)
	}
	return res, nil
}

// LoadEvent reads an event file and makes the actor call for it. The file holds an envelope
// of type generate.page.request (its payload is the request), ui.symbol (a click: the request
// is for that character, section, symbol and orientation) or ask (a question: the character is
// that of the first symbol in its context, else of section 1); or it holds a bare page
// request. The request's voice becomes the actor's.
func LoadEvent(path string, m actors.Manifest, c *corpus.Corpus) (actors.Call, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return actors.Call{}, fmt.Errorf("event: %w", err)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return actors.Call{}, fmt.Errorf("event %s: not a JSON object: %v", path, err)
	}
	call := actors.Call{EventID: event.NewID(), SessionID: event.NewID(), TS: time.Now().UTC().Truncate(time.Millisecond)}
	var req event.PageRequest
	if _, isEnvelope := probe["payload"]; isEnvelope {
		env, err := event.Decode(b)
		if err != nil {
			return call, fmt.Errorf("event %s: %w", path, err)
		}
		call.EventID, call.SessionID, call.TS = env.EventID, env.SessionID, env.TS
		p, _ := env.DecodePayload() // validated by Decode
		switch v := p.(type) {
		case *event.PageRequest:
			req = *v
		case *event.SymbolClick:
			req = event.PageRequest{CharacterID: v.CharacterID, SectionID: v.SectionID, SymbolID: v.SymbolID, Orientation: v.Orientation}
		case *event.Ask:
			req = event.PageRequest{Prompt: v.Prompt, Symbols: v.Context.Symbols, Orientation: "N"}
			req.CharacterID, req.SectionID = askCharacter(v.Context.Symbols, c)
		default:
			return call, fmt.Errorf("event %s: type %q cannot be given to an actor; use %s, %s or %s",
				path, env.Type, event.TypePageRequest, event.TypeSymbol, event.TypeAsk)
		}
		if req.CauseEventID == "" && env.Type != event.TypePageRequest {
			req.CauseEventID, req.CauseType = env.EventID, env.Type
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return call, fmt.Errorf("event %s: neither an envelope (no \"payload\") nor a page request: %v", path, err)
		}
	}
	if req.RequestID == "" {
		req.RequestID = event.NewID()
	}
	req.Voice = m.Voice
	if err := req.Validate(); err != nil {
		return call, fmt.Errorf("event %s: the page request is not valid: %w", path, err)
	}
	if c != nil {
		if _, ok := c.Character(req.CharacterID); !ok {
			return call, fmt.Errorf("event %s: field character_id: %q is not a character of the corpus %s", path, req.CharacterID, c.Dir())
		}
	}
	call.Request = req
	return call, nil
}

// askCharacter picks the character of a question: that of the first symbol ("S8-PR" is
// section 8), else section 1's.
func askCharacter(symbols []string, c *corpus.Corpus) (string, int) {
	sec := 1
	if len(symbols) > 0 {
		s := strings.TrimPrefix(symbols[0], "S")
		if i := strings.IndexByte(s, '-'); i > 0 {
			if n, err := strconv.Atoi(s[:i]); err == nil && n >= 1 && n <= corpus.MaxSections {
				sec = n
			}
		}
	}
	if c != nil {
		if ch, ok := c.BySection(sec); ok {
			return ch.ID, sec
		}
	}
	return "", sec
}

// PrintResult writes the page (or meaning) of a run for a person: the title, the text, then
// who wrote it and from which passages.
func PrintResult(w io.Writer, r *RunResult) {
	if r.Page == nil {
		fmt.Fprintf(w, "meaning: %s\n", r.Meaning)
		if r.Prov != nil {
			fmt.Fprintf(w, "\n— interpreted by %s %s (sha256 %s), voice %s\n", r.Prov.Actor, r.Prov.Version, short(r.Prov.Hash), r.Prov.Voice)
		}
		return
	}
	p := r.Page
	fmt.Fprintf(w, "# %s\n\n%s\n", p.Title, strings.TrimRight(p.Text, "\n"))
	pr := p.Provenance
	fmt.Fprintf(w, "\n— written by %s %s (sha256 %s), voice %s", pr.Actor, pr.ActorVersion, short(pr.ActorHash), pr.Voice)
	if pr.Generator != "" {
		fmt.Fprintf(w, ", generator %s", pr.Generator)
	}
	fmt.Fprintf(w, "\n  for %s, section %d, facing %s\n", p.CharacterID, p.SectionID, p.Orientation)
	if len(pr.Sources) > 0 {
		fmt.Fprintf(w, "  sources:\n")
		for _, s := range pr.Sources {
			fmt.Fprintf(w, "    %-10s page %-4d %s: %s\n", s.PassageID, s.PageNumber, s.CharacterID, oneLine(s.Excerpt, 70))
		}
	}
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		cut := n
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// lineLog collects the runtime's log lines (the actor's own lines among them).
type lineLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// Lines returns the lines logged so far.
func (l *lineLog) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimRight(l.buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
