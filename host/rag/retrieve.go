package rag

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gibsey/gibsey/host/corpus"
	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
)

// Retrieval limits.
const (
	DefaultK = 5
	MaxK     = 32
	// MaxRecent is how many recent generated pages are ranked with the corpus passages.
	MaxRecent = 16
	// cacheSize is the number of corpus searches the retriever remembers.
	cacheSize = 512
)

// ErrNotIngested is returned when the index holds no passage for the query's character:
// the corpus was not ingested into this store (with this embedder).
var ErrNotIngested = errors.New("rag: the index holds no passage for this query; ingest the corpus first")

// Query asks for the passages nearest to a text.
type Query struct {
	// Text is what to look for. When empty, the character's name and section title are used.
	Text string
	// CharacterID restricts the corpus passages to that character's section pages.
	CharacterID string
	// SectionID, used when CharacterID is empty, restricts to the pages of that section.
	SectionID int
	// K is the number of passages wanted (default DefaultK, at most MaxK).
	K int
	// Recent are the session's recent generated pages; those of the same character with text
	// are ranked together with the corpus passages (ids "g:<page_id>", PageNumber 0).
	Recent []event.PageRef
}

// Retriever answers queries from the store's passage index, checked against the loaded
// corpus. It is safe for concurrent use.
type Retriever struct {
	st    store.Store
	c     *corpus.Corpus
	emb   Embedder
	known map[string]store.Passage // the corpus passages by id, to drop stale index rows

	mu    sync.Mutex
	cache map[string]*list.Element
	order *list.List // front = most recently used
}

type cacheEntry struct {
	key    string
	vec    []float32
	corpus []store.Passage
}

// NewRetriever returns a retriever over st's passage index for corpus c, embedding queries
// with emb (the embedder the corpus was ingested with).
func NewRetriever(st store.Store, c *corpus.Corpus, emb Embedder) *Retriever {
	known := map[string]store.Passage{}
	for _, p := range Passages(c) {
		known[p.ID] = p
	}
	return &Retriever{st: st, c: c, emb: emb, known: known, cache: map[string]*list.Element{}, order: list.New()}
}

// Corpus is the corpus the retriever checks passages against.
func (r *Retriever) Corpus() *corpus.Corpus { return r.c }

// Invalidate forgets cached searches (call after re-ingesting into the same store).
func (r *Retriever) Invalidate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cache = map[string]*list.Element{}
	r.order.Init()
}

// Retrieve embeds the query, searches the passage index restricted to the character (or
// section), and ranks the corpus passages together with the query's recent generated pages by
// cosine similarity, best first; ties are broken by id, so equal inputs give equal answers.
// At most K/2 of the answer are generated pages, so a page always draws on the corpus.
// Index rows that do not match the loaded corpus (left by an earlier corpus) are skipped.
func (r *Retriever) Retrieve(ctx context.Context, q Query) ([]store.Passage, error) {
	k := q.K
	if k <= 0 {
		k = DefaultK
	}
	k = min(k, MaxK)
	filter := store.PassageFilter{}
	text := strings.TrimSpace(q.Text)
	charID := ""
	switch {
	case q.CharacterID != "":
		ch, ok := r.c.Character(q.CharacterID)
		if !ok {
			return nil, fmt.Errorf("rag: unknown character %q", q.CharacterID)
		}
		filter.CharacterID, charID = ch.ID, ch.ID
		if text == "" {
			text = ch.Name + " " + ch.SectionTitle
		}
	case q.SectionID != 0:
		ch, ok := r.c.BySection(q.SectionID)
		if !ok {
			return nil, fmt.Errorf("rag: no character owns section %d", q.SectionID)
		}
		filter.SectionID, charID = ch.Section, ch.ID
		if text == "" {
			text = ch.Name + " " + ch.SectionTitle
		}
	}
	if text == "" {
		return nil, errors.New("rag: query needs a text, a character_id or a section_id")
	}

	key := filter.CharacterID + "\x00" + strconv.Itoa(filter.SectionID) + "\x00" + strconv.Itoa(k) + "\x00" + text
	vec, found, err := r.corpusSearch(ctx, key, text, filter, k)
	if err != nil {
		return nil, err
	}

	gen, err := r.rankRecent(ctx, vec, charID, q.Recent)
	if err != nil {
		return nil, err
	}
	return merge(found, gen, k), nil
}

// corpusSearch returns the query vector and the scored, checked corpus passages, from the
// cache when the same search was made before.
func (r *Retriever) corpusSearch(ctx context.Context, key, text string, filter store.PassageFilter, k int) ([]float32, []store.Passage, error) {
	r.mu.Lock()
	if el, ok := r.cache[key]; ok {
		r.order.MoveToFront(el)
		e := el.Value.(*cacheEntry)
		r.mu.Unlock()
		return e.vec, clonePassages(e.corpus), nil
	}
	r.mu.Unlock()

	vecs, err := r.emb.Embed(ctx, []string{text})
	if err != nil {
		return nil, nil, fmt.Errorf("rag: embed query: %w", err)
	}
	if len(vecs) != 1 {
		return nil, nil, fmt.Errorf("rag: embedder %s returned %d vectors for one query", r.emb.Name(), len(vecs))
	}
	vec := vecs[0]
	// Over-fetch, and fetch more while rows left by another corpus crowd out this one's.
	want := min(k, r.knownCount(filter))
	var found []store.Passage
	var hits []store.Passage
	for fetch := k*3 + 8; ; fetch = min(fetch*4, maxFetch) {
		hits, err = r.st.SearchPassages(ctx, vec, filter, fetch)
		if err != nil {
			return nil, nil, fmt.Errorf("rag: search passages: %w", err)
		}
		found = r.check(vec, hits)
		if len(found) >= want || len(hits) < fetch || fetch >= maxFetch {
			break
		}
	}
	if len(found) == 0 {
		return nil, nil, fmt.Errorf("%w (character %q, section %d, store returned %d rows)", ErrNotIngested, filter.CharacterID, filter.SectionID, len(hits))
	}
	sortPassages(found)

	r.mu.Lock()
	if _, ok := r.cache[key]; !ok {
		r.cache[key] = r.order.PushFront(&cacheEntry{key: key, vec: vec, corpus: clonePassages(found)})
		for r.order.Len() > cacheSize {
			old := r.order.Back()
			r.order.Remove(old)
			delete(r.cache, old.Value.(*cacheEntry).key)
		}
	}
	r.mu.Unlock()
	return vec, found, nil
}

// maxFetch bounds the rows asked of the index in one search.
const maxFetch = 1000

// check keeps the hits that are passages of the loaded corpus (same id, text and character),
// scored by cosine with the query vector.
func (r *Retriever) check(vec []float32, hits []store.Passage) []store.Passage {
	var found []store.Passage
	seen := map[string]bool{}
	for _, h := range hits {
		want, ok := r.known[h.ID]
		if !ok || seen[h.ID] || want.Text != h.Text || want.CharacterID != h.CharacterID {
			continue // a row from another corpus, or a duplicate
		}
		seen[h.ID] = true
		score := h.Score
		if len(h.Embedding) == len(vec) {
			score = Cosine(vec, h.Embedding)
		}
		want.Score = roundScore(score)
		found = append(found, want)
	}
	return found
}

// knownCount is how many passages of the loaded corpus match the filter.
func (r *Retriever) knownCount(f store.PassageFilter) int {
	n := 0
	for _, p := range r.known {
		if (f.CharacterID == "" || p.CharacterID == f.CharacterID) && (f.SectionID == 0 || p.SectionID == f.SectionID) {
			n++
		}
	}
	return n
}

// rankRecent scores the recent generated pages of the character against the query vector.
func (r *Retriever) rankRecent(ctx context.Context, vec []float32, charID string, recent []event.PageRef) ([]store.Passage, error) {
	var refs []event.PageRef
	seen := map[string]bool{}
	for _, ref := range recent {
		if strings.TrimSpace(ref.Text) == "" || ref.PageID == "" || seen[ref.PageID] {
			continue
		}
		if charID != "" && ref.CharacterID != "" && ref.CharacterID != charID {
			continue
		}
		seen[ref.PageID] = true
		refs = append(refs, ref)
		if len(refs) == MaxRecent {
			break
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	texts := make([]string, len(refs))
	for i, ref := range refs {
		texts[i] = ref.Text
	}
	vecs, err := r.emb.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("rag: embed recent pages: %w", err)
	}
	if len(vecs) != len(refs) {
		return nil, fmt.Errorf("rag: embedder %s returned %d vectors for %d recent pages", r.emb.Name(), len(vecs), len(refs))
	}
	out := make([]store.Passage, len(refs))
	for i, ref := range refs {
		out[i] = store.Passage{
			ID:          GeneratedID(ref.PageID),
			CharacterID: ref.CharacterID,
			SectionID:   ref.SectionID,
			PageNumber:  0,
			Text:        ref.Text,
			Score:       roundScore(Cosine(vec, vecs[i])),
		}
	}
	sortPassages(out)
	return out, nil
}

// merge ranks corpus and generated passages together and keeps k, with at most k/2
// generated ones unless the corpus has too few.
func merge(found, gen []store.Passage, k int) []store.Passage {
	all := append(clonePassages(found), gen...)
	sortPassages(all)
	quota := k / 2
	out := make([]store.Passage, 0, k)
	var skipped []store.Passage
	nGen := 0
	for _, p := range all {
		if len(out) == k {
			break
		}
		if p.PageNumber == 0 {
			if nGen == quota {
				skipped = append(skipped, p)
				continue
			}
			nGen++
		}
		out = append(out, p)
	}
	for _, p := range skipped {
		if len(out) == k {
			break
		}
		out = append(out, p)
	}
	sortPassages(out)
	return out
}

func sortPassages(ps []store.Passage) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Score != ps[j].Score {
			return ps[i].Score > ps[j].Score
		}
		return ps[i].ID < ps[j].ID
	})
}

// roundScore keeps six decimals, so that float noise between backends cannot reorder
// passages of equal similarity (ties are then broken by id).
func roundScore(s float32) float32 {
	if math.IsNaN(float64(s)) {
		return 0
	}
	return float32(math.Round(float64(s)*1e6) / 1e6)
}

func clonePassages(ps []store.Passage) []store.Passage {
	if ps == nil {
		return nil
	}
	out := make([]store.Passage, len(ps))
	copy(out, ps)
	for i := range out {
		out[i].Embedding = nil
	}
	return out
}
