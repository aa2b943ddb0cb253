package rag

import (
	"context"
	"errors"
	"fmt"

	"github.com/gibsey/gibsey/host/corpus"
	"github.com/gibsey/gibsey/host/store"
)

// MetaKey is the store meta key under which Ingest records what it ingested
// ("<corpus fingerprint> <embedder name>").
const MetaKey = "rag.ingested"

// IngestBatch is how many passages are embedded and written at a time.
const IngestBatch = 64

// IngestMark is the meta value Ingest writes for a corpus and an embedder.
func IngestMark(c *corpus.Corpus, emb Embedder) string { return c.Fingerprint() + " " + emb.Name() }

// Ingested reports whether the store already holds this corpus embedded by this embedder.
func Ingested(ctx context.Context, st store.Store, c *corpus.Corpus, emb Embedder) (bool, error) {
	v, err := st.GetMeta(ctx, MetaKey)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rag: read ingest mark: %w", err)
	}
	return v == IngestMark(c, emb), nil
}

// Ingest splits the corpus into passages, embeds them and writes them to the store's passage
// index in batches of IngestBatch, then records the corpus fingerprint and embedder name in
// the store's meta. It returns the number of passages written: 0 when the store already holds
// this corpus with this embedder (nothing is done). An interrupted ingest leaves no mark, so
// the next call starts again (writes are upserts by passage id).
func Ingest(ctx context.Context, st store.Store, c *corpus.Corpus, emb Embedder) (n int, err error) {
	if st == nil || c == nil || emb == nil {
		return 0, errors.New("rag: ingest needs a store, a corpus and an embedder")
	}
	done, err := Ingested(ctx, st, c, emb)
	if err != nil || done {
		return 0, err
	}
	ps := Passages(c)
	for start := 0; start < len(ps); start += IngestBatch {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		batch := ps[start:min(start+IngestBatch, len(ps))]
		texts := make([]string, len(batch))
		for i, p := range batch {
			texts[i] = p.Text
		}
		vecs, err := emb.Embed(ctx, texts)
		if err != nil {
			return n, fmt.Errorf("rag: embed passages %s..%s: %w", batch[0].ID, batch[len(batch)-1].ID, err)
		}
		if len(vecs) != len(batch) {
			return n, fmt.Errorf("rag: embedder %s returned %d vectors for %d passages", emb.Name(), len(vecs), len(batch))
		}
		for i := range batch {
			batch[i].Embedding = vecs[i]
		}
		if err := st.PutPassages(ctx, batch); err != nil {
			return n, fmt.Errorf("rag: store passages %s..%s: %w", batch[0].ID, batch[len(batch)-1].ID, err)
		}
		n += len(batch)
	}
	if err := st.PutMeta(ctx, MetaKey, IngestMark(c, emb)); err != nil {
		return n, fmt.Errorf("rag: record ingest mark: %w", err)
	}
	return n, nil
}
