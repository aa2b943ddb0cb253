package rag

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gibsey/gibsey/host/corpus"
	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
)

// memStore is an in-memory passage index and meta table; the other Store methods are not
// used by this package (calling one panics on the nil embedded interface).
type memStore struct {
	store.Store
	mu       sync.Mutex
	passages map[string]store.Passage
	meta     map[string]string
	puts     int // PutPassages calls
}

func newMemStore() *memStore {
	return &memStore{passages: map[string]store.Passage{}, meta: map[string]string{}}
}

func (m *memStore) PutPassages(_ context.Context, ps []store.Passage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	for _, p := range ps {
		p.Embedding = append([]float32(nil), p.Embedding...)
		m.passages[p.ID] = p
	}
	return nil
}

func (m *memStore) SearchPassages(_ context.Context, vec []float32, f store.PassageFilter, k int) ([]store.Passage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Passage
	for _, p := range m.passages {
		if (f.CharacterID != "" && p.CharacterID != f.CharacterID) || (f.SectionID != 0 && p.SectionID != f.SectionID) {
			continue
		}
		p.Score = Cosine(vec, p.Embedding)
		p.Embedding = nil // like the real backends
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > k {
		out = out[:k]
	}
	return out, nil
}

func (m *memStore) PassageCount(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.passages), nil
}

func (m *memStore) GetMeta(_ context.Context, k string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.meta[k]
	if !ok {
		return "", store.ErrNotFound
	}
	return v, nil
}

func (m *memStore) PutMeta(_ context.Context, k, v string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.meta[k] = v
	return nil
}

func loadSample(t *testing.T) *corpus.Corpus {
	t.Helper()
	c, err := corpus.Load("../../examples/corpus")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func realCorpus(t *testing.T) *corpus.Corpus {
	t.Helper()
	dir := os.Getenv("GIBSEY_TEST_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, corpus.CharactersFile)); err != nil {
		t.Skipf("real corpus not found at %s (set GIBSEY_TEST_CORPUS to its folder): %v", dir, err)
	}
	c, err := corpus.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHashEmbedderIsDeterministic(t *testing.T) {
	text := "Princhetta glides through the Tunnel of Reflections, wondering whether she is alive. " +
		"Mirror after mirror, mirror after mirror: the swan, the swan, the swan boat wonders, and 16 mirrors wonder back."
	a := NewHashEmbedder().Vector(text)
	vs, err := (&HashEmbedder{}).Embed(context.Background(), []string{text, "other"})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 256 || !reflect.DeepEqual(a, vs[0]) {
		t.Fatalf("same text, different vectors (len %d)", len(a))
	}
	var norm float64
	for _, x := range a {
		norm += float64(x) * float64(x)
	}
	if math.Abs(norm-1) > 1e-5 {
		t.Fatalf("vector is not L2-normalised: |v|² = %v", norm)
	}
	// The exact bits are part of the index format: an ingest on one machine must match a
	// query on another. A change here means every index must be re-ingested (bump the name).
	h := sha256.New()
	for _, x := range a {
		binary.Write(h, binary.LittleEndian, math.Float32bits(x))
	}
	if got := hex.EncodeToString(h.Sum(nil))[:16]; got != goldenVector {
		t.Fatalf("hash-v1 vector changed: digest %s, want %s", got, goldenVector)
	}
	if NewHashEmbedder().Name() != "hash-v1-256" || (&HashEmbedder{Dims: 64}).Name() != "hash-v1-64" {
		t.Fatal("embedder names must say the dimension")
	}
	if z := NewHashEmbedder().Vector("the and of"); Cosine(z, a) != 0 {
		t.Fatal("a text of stop words only should embed to the zero vector")
	}
}

const goldenVector = "695281560515e6e5"

func TestHashEmbedderRanksSimilarTextsHigher(t *testing.T) {
	e := NewHashEmbedder()
	q := e.Vector("a white swan boat drifting through the dark tunnel of mirrors")
	similar := e.Vector("The swan boat glides along the tunnel, past mirror after mirror, in the dark.")
	unrelated := e.Vector("The court reviewed the schedule of assets and liabilities of the debtor.")
	if s, u := Cosine(q, similar), Cosine(q, unrelated); s <= u || s < 0.2 {
		t.Fatalf("similar %.3f should beat unrelated %.3f", s, u)
	}
	// Word order matters a little through word pairs.
	pair := e.Vector("swan boat")
	if Cosine(pair, e.Vector("swan boat")) <= Cosine(pair, e.Vector("boat swan")) {
		t.Fatal("the same word pair should score higher than the words reversed")
	}
}

func TestSplitKeepsTextAndSizes(t *testing.T) {
	var paras []string
	for i := 0; i < 40; i++ {
		paras = append(paras, strings.Repeat("word ", 10+i%13)+"end.")
	}
	long := strings.Repeat("A sentence that goes on for a while. ", 60) + strings.Repeat("x", 700) +
		" and a run-on sentence " + strings.Repeat("without any end ", 50) + "question."
	text := strings.Join(paras, "\n\n") + "\n\n" + long + "\n  \n\nTiny.\n\n" + paras[0]
	chunks := Split(text)
	if len(chunks) < 5 {
		t.Fatalf("only %d chunks", len(chunks))
	}
	for i, c := range chunks {
		if len(c) > MaxChunk+MinChunk/2 {
			t.Errorf("chunk %d is %d bytes", i, len(c))
		}
		if i < len(chunks)-1 && len(c) < MinChunk/2 {
			t.Errorf("chunk %d is only %d bytes", i, len(c))
		}
	}
	// Every chunk is an exact piece of the page, in order, and together they hold all of it.
	at := 0
	for i, c := range chunks {
		j := strings.Index(text[at:], c)
		if j < 0 {
			t.Fatalf("chunk %d is not a substring of the page after the previous chunk", i)
		}
		if gap := text[at : at+j]; strings.TrimSpace(gap) != "" {
			t.Fatalf("text lost before chunk %d: %q", i, gap)
		}
		at += j + len(c)
	}
	if strings.TrimSpace(text[at:]) != "" {
		t.Fatalf("text lost at the end: %q", text[at:])
	}
	if got := Split("  short page  "); len(got) != 1 || got[0] != "short page" {
		t.Fatalf("short page: %q", got)
	}
}

func TestIngestThenRetrieveByCharacter(t *testing.T) {
	ctx := context.Background()
	c := loadSample(t)
	st := newMemStore()
	emb := NewHashEmbedder()
	n, err := Ingest(ctx, st, c, emb)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(Passages(c)); n != want || n < 48 || len(st.passages) != want {
		t.Fatalf("ingested %d passages, store holds %d, corpus splits into %d", n, len(st.passages), want)
	}
	for _, p := range st.passages {
		if len(p.Embedding) != emb.Dimensions() {
			t.Fatalf("passage %s stored without its embedding", p.ID)
		}
	}

	// The second ingest of the same corpus with the same embedder does nothing.
	puts := st.puts
	if n, err := Ingest(ctx, st, c, emb); err != nil || n != 0 || st.puts != puts {
		t.Fatalf("second ingest: n=%d err=%v, %d new writes", n, err, st.puts-puts)
	}
	// Another embedder re-ingests.
	if n, err := Ingest(ctx, st, c, &HashEmbedder{Dims: 128}); err != nil || n == 0 {
		t.Fatalf("ingest with another embedder: n=%d err=%v", n, err)
	}
	if _, err := Ingest(ctx, st, c, emb); err != nil {
		t.Fatal(err)
	}

	r := NewRetriever(st, c, emb)
	for _, ch := range c.Characters() {
		// The same query for every character: the filter must keep each to its own pages.
		got, err := r.Retrieve(ctx, Query{Text: "a swan boat in the tunnel of mirrors", CharacterID: ch.ID, K: 4})
		if err != nil {
			t.Fatalf("%s: %v", ch.ID, err)
		}
		if len(got) != 4 {
			t.Fatalf("%s: %d passages, want 4", ch.ID, len(got))
		}
		for _, p := range got {
			page, ok := c.Page(p.PageNumber)
			if p.CharacterID != ch.ID || p.SectionID != ch.Section || p.PageNumber < ch.StartPage || p.PageNumber > ch.EndPage || !ok || !strings.Contains(page.Text, p.Text) {
				t.Fatalf("%s: passage %s (page %d, %s) is not from its pages", ch.ID, p.ID, p.PageNumber, p.CharacterID)
			}
		}
		for i := 1; i < len(got); i++ {
			if got[i].Score > got[i-1].Score {
				t.Fatalf("%s: not best first: %v", ch.ID, got)
			}
		}
	}

	// The query picks the right passage within the character.
	got, err := r.Retrieve(ctx, Query{Text: "drained canal at night, the other swans do not think", CharacterID: "princhetta", K: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].PageNumber != 24 || !strings.Contains(got[0].Text, "drained") {
		t.Fatalf("best passage for the drained canal: page %d %q", got[0].PageNumber, got[0].Text)
	}
	// Same query again (cached) and from a fresh retriever: the same answer.
	again, _ := r.Retrieve(ctx, Query{Text: "drained canal at night, the other swans do not think", CharacterID: "princhetta", K: 3})
	fresh, _ := NewRetriever(st, c, emb).Retrieve(ctx, Query{Text: "drained canal at night, the other swans do not think", CharacterID: "princhetta", K: 3})
	if !reflect.DeepEqual(got, again) || !reflect.DeepEqual(got, fresh) {
		t.Fatalf("retrieval is not deterministic:\n%v\n%v\n%v", got, again, fresh)
	}
	// Changing the returned slice does not change the cache.
	again[0].Text = "scribbled"
	if third, _ := r.Retrieve(ctx, Query{Text: "drained canal at night, the other swans do not think", CharacterID: "princhetta", K: 3}); third[0].Text == "scribbled" {
		t.Fatal("the cache hands out its own slice")
	}

	// By section, and with no text (name and section title are used).
	bySec, err := r.Retrieve(ctx, Query{SectionID: 3})
	if err != nil || len(bySec) != DefaultK {
		t.Fatalf("by section: %d passages, %v", len(bySec), err)
	}
	for _, p := range bySec {
		if p.CharacterID != "glyph-marrow" {
			t.Fatalf("section 3 gave a passage of %s", p.CharacterID)
		}
	}
	if _, err := r.Retrieve(ctx, Query{Text: "x", CharacterID: "nobody"}); err == nil || !strings.Contains(err.Error(), `"nobody"`) {
		t.Fatalf("unknown character: %v", err)
	}
	if _, err := r.Retrieve(ctx, Query{}); err == nil {
		t.Fatal("an empty query should be an error")
	}
}

func TestRetrieveRanksRecentGeneratedPages(t *testing.T) {
	ctx := context.Background()
	c := loadSample(t)
	st := newMemStore()
	emb := NewHashEmbedder()
	if _, err := Ingest(ctx, st, c, emb); err != nil {
		t.Fatal(err)
	}
	r := NewRetriever(st, c, emb)
	q := "the swan boat slows beside the mirror the couple likes best"
	recent := []event.PageRef{
		{PageID: "g1", CharacterID: "princhetta", SectionID: 8, Text: "The swan boat slows beside the mirror the couple likes best, and wonders."},
		{PageID: "g2", CharacterID: "princhetta", SectionID: 8, Text: "Ledger entries and a court order, nothing about boats."},
		{PageID: "g3", CharacterID: "jack-parlance", SectionID: 12, Text: "The swan boat slows beside the mirror the couple likes best."},
		{PageID: "g4", CharacterID: "princhetta", SectionID: 8, Text: ""},
	}
	got, err := r.Retrieve(ctx, Query{Text: q, CharacterID: "princhetta", K: 4, Recent: recent})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].ID != "g:g1" || got[0].PageNumber != 0 || got[0].CharacterID != "princhetta" {
		t.Fatalf("the near-identical recent page should rank first: %+v", got)
	}
	gen := 0
	for _, p := range got {
		switch {
		case p.PageNumber == 0:
			gen++
			if p.ID == "g:g3" || p.ID == "g:g4" {
				t.Fatalf("%s should not be ranked (other character / no text)", p.ID)
			}
		case p.PageNumber < 22 || p.PageNumber > 24:
			t.Fatalf("passage from page %d", p.PageNumber)
		}
	}
	if gen > 2 {
		t.Fatalf("%d of 4 passages are generated pages; at most K/2", gen)
	}
	// Deterministic with recent pages too.
	again, _ := r.Retrieve(ctx, Query{Text: q, CharacterID: "princhetta", K: 4, Recent: recent})
	if !reflect.DeepEqual(got, again) {
		t.Fatal("not deterministic with recent pages")
	}
}

func TestRetrieveSkipsRowsOfAnotherCorpus(t *testing.T) {
	ctx := context.Background()
	c := loadSample(t)
	st := newMemStore()
	emb := NewHashEmbedder()
	if _, err := Ingest(ctx, st, c, emb); err != nil {
		t.Fatal(err)
	}
	q := "a stale passage left behind by a corpus that is gone"
	vec := emb.Vector(q)
	st.PutPassages(ctx, []store.Passage{
		{ID: "p22-9", CharacterID: "princhetta", SectionID: 8, PageNumber: 22, Text: q, Embedding: vec},
		{ID: "p23-1", CharacterID: "princhetta", SectionID: 8, PageNumber: 23, Text: q + " (old text of a current id)", Embedding: vec},
	})
	got, err := NewRetriever(st, c, emb).Retrieve(ctx, Query{Text: q, CharacterID: "princhetta", K: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		if strings.Contains(p.Text, "stale") {
			t.Fatalf("a row of another corpus was returned: %s", p.ID)
		}
	}
	// p23-1's row now holds old text, so it is skipped too; the rest of princhetta's
	// passages still answer.
	want := 0
	for _, p := range Passages(c) {
		if p.CharacterID == "princhetta" && p.ID != "p23-1" {
			want++
		}
	}
	if len(got) != min(3, want) {
		t.Fatalf("got %d passages, want %d", len(got), min(3, want))
	}
	// An empty index is a clear error.
	_, err = NewRetriever(newMemStore(), c, emb).Retrieve(ctx, Query{Text: q, CharacterID: "princhetta"})
	if !errors.Is(err, ErrNotIngested) {
		t.Fatalf("empty index: %v", err)
	}
}

func TestRealCorpusPrinchettaQuotesHerPages(t *testing.T) {
	ctx := context.Background()
	c := realCorpus(t)
	st := newMemStore()
	emb := NewHashEmbedder()
	n, err := Ingest(ctx, st, c, emb)
	if err != nil {
		t.Fatal(err)
	}
	if n < 710 {
		t.Fatalf("only %d passages for 710 pages", n)
	}
	r := NewRetriever(st, c, emb)
	for _, text := range []string{"", "a theme park of thought", "the storm over the lagoon"} {
		got, err := r.Retrieve(ctx, Query{Text: text, CharacterID: "princhetta", K: 6})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			t.Fatalf("query %q: nothing", text)
		}
		for _, p := range got {
			page, ok := c.Page(p.PageNumber)
			if p.PageNumber < 381 || p.PageNumber > 385 || !ok || !strings.Contains(page.Text, p.Text) {
				t.Fatalf("query %q: passage %s from page %d is not a quote of pages 381-385", text, p.ID, p.PageNumber)
			}
		}
	}
}
