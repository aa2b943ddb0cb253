package authoring

import (
	"context"
	"fmt"

	"github.com/gibsey/gibsey/host/actors"
	"github.com/gibsey/gibsey/host/corpus"
	"github.com/gibsey/gibsey/host/rag"
	"github.com/gibsey/gibsey/host/session/memstore"
	"github.com/gibsey/gibsey/host/store"
)

// OfflineEnv is the Env `gibsey actor run` gives an actor: the host's own retrieval
// (rag.Retriever with the offline hash embedder, as the running host does without an
// embedding endpoint) over the corpus ingested into an in-memory store, the corpus pages,
// state in memory, and no text generator (actors compose).
type OfflineEnv struct {
	actors.MemEnv
	ret *rag.Retriever
}

// NewOfflineEnv loads the corpus in dir and ingests it.
func NewOfflineEnv(dir string) (*OfflineEnv, *corpus.Corpus, error) {
	c, err := corpus.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("corpus %s: %w", dir, err)
	}
	st := memstore.New()
	emb := rag.NewHashEmbedder()
	if _, err := rag.Ingest(context.Background(), st, c, emb); err != nil {
		return nil, nil, fmt.Errorf("corpus %s: ingest: %w", dir, err)
	}
	e := &OfflineEnv{ret: rag.NewRetriever(st, c, emb)}
	e.Pages = map[int]actors.CorpusPage{}
	for _, p := range c.Pages() {
		e.Pages[p.Number] = actors.CorpusPage{Number: p.Number, CharacterID: p.CharacterID, SectionID: p.Section, Title: p.Title, Text: p.Text}
	}
	return e, c, nil
}

// Retrieve implements actors.Env the way the host does.
func (e *OfflineEnv) Retrieve(ctx context.Context, q actors.RetrieveQuery) ([]store.Passage, error) {
	return e.ret.Retrieve(ctx, rag.Query{Text: q.Query, CharacterID: q.CharacterID, SectionID: q.SectionID, K: q.K})
}
