//go:build !wasip1

// Package actortest runs a Go voice natively, without WebAssembly, against a fake host, so that
// a voice's logic can be unit-tested with `go test`. The request goes through the same frame
// encoding as in the real host.
//
//	h := actortest.New()
//	h.Passages = []actor.Passage{{ID: "p1", CharacterID: "london-fox", SectionID: 1, Text: "…"}}
//	page, err := h.Page(&actor.Request{CharacterID: "london-fox", SectionID: 1, Orientation: "N"})
package actortest

import (
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"

	"github.com/gibsey/gibsey/sdk/actor"
	"github.com/gibsey/gibsey/sdk/frame"
)

// Host is a fake Gibsey host. Set its fields before calling Page or Interpret.
type Host struct {
	// Passages is the RAG index Retrieve searches (filtered by character and section, ranked
	// by words shared with the query, then by order).
	Passages []actor.Passage
	// Pages are the novel's pages by number, for CorpusPage.
	Pages map[int]actor.NovelPage
	// Generator, when set, answers Generate; otherwise Generate returns actor.ErrUnavailable.
	Generator func(prompt string, passages []actor.Passage) (string, error)
	// ActorName seeds the random source (with the event id), as the real host does.
	ActorName string

	mu    sync.Mutex
	state map[string][]byte // session + "\x00" + key
	logs  []string

	// per call
	req *actor.Request
	rng *rand.ChaCha8
}

// New returns an empty fake host.
func New() *Host { return &Host{Pages: map[int]actor.NovelPage{}, state: map[string][]byte{}} }

// Logs returns the lines the voice logged so far.
func (h *Host) Logs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.logs...)
}

// Page runs the voice's Page function on req (Kind is set to "page").
func (h *Host) Page(req *actor.Request) (*actor.Response, error) {
	r := *req
	r.Kind = "page"
	resp, err := h.call(&r)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// Interpret runs the voice's Interpret function on req (Kind is set to "interpret").
func (h *Host) Interpret(req *actor.Request) (string, error) {
	r := *req
	r.Kind = "interpret"
	resp, err := h.call(&r)
	if err != nil {
		return "", err
	}
	return resp.Meaning, nil
}

func (h *Host) call(r *actor.Request) (*actor.Response, error) {
	if h.state == nil {
		h.state = map[string][]byte{}
	}
	h.req = r
	seed := sha256.Sum256([]byte(r.EventID + "\x00" + h.ActorName))
	h.rng = rand.NewChaCha8(seed)
	var enc frame.Encoder
	enc.AppendRequest(r)
	out := actor.HandleNative(h, enc.Bytes())
	var resp actor.Response
	if err := frame.DecodeResponse(out, &resp); err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	return &resp, nil
}

// Log implements actor.NativeHost.
func (h *Host) Log(level int, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, msg)
}

// Retrieve implements actor.NativeHost.
func (h *Host) Retrieve(q frame.RetrieveQuery) ([]actor.Passage, error) {
	k := q.K
	if k <= 0 {
		k = 5
	}
	words := strings.Fields(strings.ToLower(q.Query))
	type scored struct {
		p     actor.Passage
		score int
		i     int
	}
	var cands []scored
	for i, p := range h.Passages {
		if q.CharacterID != "" && p.CharacterID != q.CharacterID {
			continue
		}
		if q.SectionID != 0 && p.SectionID != q.SectionID {
			continue
		}
		s := 0
		lt := strings.ToLower(p.Text)
		for _, w := range words {
			if strings.Contains(lt, w) {
				s++
			}
		}
		cands = append(cands, scored{p, s, i})
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
	var out []actor.Passage
	for _, c := range cands {
		if len(out) == k {
			break
		}
		out = append(out, c.p)
	}
	return out, nil
}

// CorpusPage implements actor.NativeHost.
func (h *Host) CorpusPage(n int) (actor.NovelPage, error) {
	p, ok := h.Pages[n]
	if !ok {
		return p, actor.ErrNotFound
	}
	return p, nil
}

// StateGet implements actor.NativeHost.
func (h *Host) StateGet(key string) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.state[h.req.SessionID+"\x00"+key]
	if !ok {
		return nil, actor.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

// StatePut implements actor.NativeHost.
func (h *Host) StatePut(key string, v []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state[h.req.SessionID+"\x00"+key] = append([]byte(nil), v...)
	return nil
}

// Now implements actor.NativeHost: the request's TSMillis.
func (h *Host) Now() int64 { return h.req.TSMillis }

// Random implements actor.NativeHost: a stream seeded by the event id and ActorName.
func (h *Host) Random(p []byte) { _, _ = h.rng.Read(p) }

// Generate implements actor.NativeHost.
func (h *Host) Generate(g frame.GenerateRequest) (string, error) {
	if h.Generator == nil {
		return "", actor.ErrUnavailable
	}
	return h.Generator(g.Prompt, g.Passages)
}
