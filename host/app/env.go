package app

import (
	"context"
	"errors"

	"github.com/gibsey/gibsey/host/actors"
	"github.com/gibsey/gibsey/host/corpus"
	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/rag"
	"github.com/gibsey/gibsey/host/store"
)

// hostEnv is what the actors' host functions reach: the RAG retriever (over the corpus and
// the request's earlier pages), the corpus, per-session actor state in the store, and the
// optional text generator.
type hostEnv struct{ a *App }

type recentKey struct{}

// withRecent carries the request's recent pages to the retrieve host function, so that
// PageGenerator's RAG ranks them with the corpus (from the request, never the store: a
// regeneration from the log sees the same pages).
func withRecent(ctx context.Context, refs []event.PageRef) context.Context {
	return context.WithValue(ctx, recentKey{}, refs)
}

func (e hostEnv) Retrieve(ctx context.Context, q actors.RetrieveQuery) ([]store.Passage, error) {
	recent, _ := ctx.Value(recentKey{}).([]event.PageRef)
	return e.a.Retriever.Retrieve(ctx, rag.Query{Text: q.Query, CharacterID: q.CharacterID, SectionID: q.SectionID, K: q.K, Recent: recent})
}

func (e hostEnv) CorpusPage(ctx context.Context, n int) (actors.CorpusPage, error) {
	p, ok := e.a.Corpus.Page(n)
	if !ok {
		return actors.CorpusPage{}, store.ErrNotFound
	}
	return actors.CorpusPage{Number: p.Number, CharacterID: p.CharacterID, SectionID: p.Section, Title: p.Title, Text: p.Text}, nil
}

func (e hostEnv) GetState(ctx context.Context, actor, session, key string) ([]byte, error) {
	return e.a.Store.GetActorState(ctx, actor, session, key)
}

func (e hostEnv) PutState(ctx context.Context, actor, session, key string, v []byte) error {
	return e.a.Store.PutActorState(ctx, actor, session, key, v)
}

func (e hostEnv) Generate(ctx context.Context, prompt string, passages []store.Passage) (string, error) {
	if e.a.LLM == nil {
		return "", actors.ErrNoGenerator
	}
	texts := make([]string, len(passages))
	for i, p := range passages {
		texts[i] = p.Text
	}
	return e.a.LLM.Generate(ctx, prompt, texts)
}

// cast adapts the corpus to the stream processor's symbol lookups.
type cast struct{ c *corpus.Corpus }

func castOf(c *corpus.Corpus) cast { return cast{c} }

func (c cast) CharacterOfSection(section int) (string, bool) {
	ch, ok := c.c.BySection(section)
	return ch.ID, ok
}

func (c cast) CharacterByCode(code string) (string, bool) {
	for _, ch := range c.c.Characters() {
		if ch.Code == code {
			return ch.ID, true
		}
	}
	return "", false
}

func (c cast) Known(id string) bool { _, ok := c.c.Character(id); return ok }

var _ = errors.New
