package authoring

import (
	"context"
	"fmt"
	"sort"

	"github.com/gibsey/gibsey/host/actors"
	"github.com/gibsey/gibsey/host/corpus"
	"github.com/gibsey/gibsey/host/rag"
	"github.com/gibsey/gibsey/host/store"
)

// OfflineEnv is the Env `gibsey actor run` gives an actor: the passages of a corpus folder
// ranked by the host's offline hash embedder (as the running host does without an embedding
// endpoint), the corpus pages, state in memory, and no text generator (actors compose).
type OfflineEnv struct {
	actors.MemEnv
	emb  *rag.HashEmbedder
	vecs [][]float32
}

// NewOfflineEnv loads the corpus in dir and embeds its passages.
func NewOfflineEnv(dir string) (*OfflineEnv, *corpus.Corpus, error) {
	c, err := corpus.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("corpus %s: %w", dir, err)
	}
	e := &OfflineEnv{emb: rag.NewHashEmbedder()}
	e.Passages = rag.Passages(c)
	e.vecs = make([][]float32, len(e.Passages))
	for i, p := range e.Passages {
		e.vecs[i] = e.emb.Vector(p.Text)
	}
	e.Pages = map[int]actors.CorpusPage{}
	for _, p := range c.Pages() {
		e.Pages[p.Number] = actors.CorpusPage{Number: p.Number, CharacterID: p.CharacterID, SectionID: p.Section, Title: p.Title, Text: p.Text}
	}
	return e, c, nil
}

// Retrieve implements actors.Env: the passages nearest the query by cosine similarity of hash
// embeddings, filtered by character and section, best first (ties by passage order).
func (e *OfflineEnv) Retrieve(ctx context.Context, q actors.RetrieveQuery) ([]store.Passage, error) {
	k := q.K
	if k <= 0 {
		k = rag.DefaultK
	}
	if k > rag.MaxK {
		k = rag.MaxK
	}
	qv := e.emb.Vector(q.Query)
	type cand struct {
		i     int
		score float32
	}
	var cands []cand
	for i, p := range e.Passages {
		if q.CharacterID != "" && p.CharacterID != q.CharacterID {
			continue
		}
		if q.SectionID != 0 && p.SectionID != q.SectionID {
			continue
		}
		cands = append(cands, cand{i, rag.Cosine(qv, e.vecs[i])})
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
	out := []store.Passage{}
	for _, c := range cands {
		if len(out) == k {
			break
		}
		p := e.Passages[c.i]
		p.Embedding = nil
		p.Score = c.score
		out = append(out, p)
	}
	return out, nil
}
