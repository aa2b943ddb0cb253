package actors

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/gibsey/gibsey/host/store"
)

// Env is what the host functions reach: the RAG index, the corpus, per-session actor state and
// the text generator. The host wires it to the store and the rag package; tests use MemEnv.
// Every method gets the call's context (it carries the call's deadline).
type Env interface {
	// Retrieve returns the top-k passages for the query, restricted to a character and section
	// when set.
	Retrieve(ctx context.Context, q RetrieveQuery) ([]store.Passage, error)
	// CorpusPage returns the novel's page by its number, or store.ErrNotFound.
	CorpusPage(ctx context.Context, n int) (CorpusPage, error)
	// GetState returns an actor's value for key in a session, or store.ErrNotFound.
	GetState(ctx context.Context, actor, session, key string) ([]byte, error)
	// PutState sets it.
	PutState(ctx context.Context, actor, session, key string, v []byte) error
	// Generate returns text from a configured OpenAI-compatible endpoint, or ErrNoGenerator
	// when none is configured (the guest then composes the page itself).
	Generate(ctx context.Context, prompt string, passages []store.Passage) (string, error)
}

// RetrieveQuery is a retrieve host-function call.
type RetrieveQuery struct {
	Query       string
	CharacterID string
	SectionID   int
	K           int
}

// CorpusPage is a page of the novel.
type CorpusPage struct {
	Number      int
	CharacterID string
	SectionID   int
	Title       string
	Text        string
}

// MemEnv is an in-memory Env: passages searched by shared words, pages by number, state in a
// map, and an optional generator. It is safe for concurrent use. Useful for tests and for
// running an actor offline.
type MemEnv struct {
	Passages  []store.Passage
	Pages     map[int]CorpusPage
	Generator func(prompt string, passages []store.Passage) (string, error)

	mu    sync.Mutex
	state map[string][]byte
}

// Retrieve implements Env: filter by character and section, rank by query words found in the
// passage text (ties keep their order), at most K.
func (e *MemEnv) Retrieve(ctx context.Context, q RetrieveQuery) ([]store.Passage, error) {
	words := strings.Fields(strings.ToLower(q.Query))
	type cand struct {
		p     store.Passage
		score int
	}
	var cands []cand
	for _, p := range e.Passages {
		if q.CharacterID != "" && p.CharacterID != q.CharacterID {
			continue
		}
		if q.SectionID != 0 && p.SectionID != q.SectionID {
			continue
		}
		s, lt := 0, strings.ToLower(p.Text)
		for _, w := range words {
			if strings.Contains(lt, w) {
				s++
			}
		}
		cands = append(cands, cand{p, s})
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
	out := []store.Passage{}
	for _, c := range cands {
		if len(out) == q.K {
			break
		}
		c.p.Score = float32(c.score)
		out = append(out, c.p)
	}
	return out, nil
}

// CorpusPage implements Env.
func (e *MemEnv) CorpusPage(ctx context.Context, n int) (CorpusPage, error) {
	p, ok := e.Pages[n]
	if !ok {
		return p, store.ErrNotFound
	}
	return p, nil
}

// GetState implements Env.
func (e *MemEnv) GetState(ctx context.Context, actor, session, key string) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.state[actor+"\x00"+session+"\x00"+key]
	if !ok {
		return nil, store.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

// PutState implements Env.
func (e *MemEnv) PutState(ctx context.Context, actor, session, key string, v []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == nil {
		e.state = map[string][]byte{}
	}
	e.state[actor+"\x00"+session+"\x00"+key] = append([]byte(nil), v...)
	return nil
}

// Generate implements Env: the Generator, or ErrNoGenerator.
func (e *MemEnv) Generate(ctx context.Context, prompt string, passages []store.Passage) (string, error) {
	if e.Generator == nil {
		return "", ErrNoGenerator
	}
	return e.Generator(prompt, passages)
}

// selfTestEnv runs a self-test against the real Env's passages and pages, but keeps state
// writes to itself so that trying a new version leaves no trace.
type selfTestEnv struct {
	Env
	mem MemEnv
}

func (e *selfTestEnv) GetState(ctx context.Context, actor, session, key string) ([]byte, error) {
	return e.mem.GetState(ctx, actor, session, key)
}

func (e *selfTestEnv) PutState(ctx context.Context, actor, session, key string, v []byte) error {
	return e.mem.PutState(ctx, actor, session, key, v)
}
