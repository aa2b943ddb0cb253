// Package rag is Gibsey's retrieval index: it splits corpus pages into passages, embeds them
// (in process with a deterministic feature-hashing embedder, or through an OpenAI-compatible
// embeddings endpoint), writes them to the store's passage index, and retrieves the passages
// of a character's section nearest to a query, ranked together with the session's recent
// generated pages.
package rag

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gibsey/gibsey/host/internal/openai"
	"github.com/gibsey/gibsey/host/store"
)

// Embedder turns texts into vectors of a fixed dimension.
type Embedder interface {
	// Embed returns one vector per text, in order.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Dimensions is the length of every vector (0 when not known before the first call).
	Dimensions() int
	// Name identifies the embedder and its settings: vectors from embedders with different
	// names are not comparable (the ingest re-embeds when it changes).
	Name() string
}

// DefaultHashDims is the HashEmbedder's dimension when Dims is zero.
const DefaultHashDims = 256

// HashEmbedder is a deterministic embedder that needs no model and no download: lower-cased
// words (minus a few very common ones) and pairs of adjacent words are hashed (FNV-1a) into
// Dims signed buckets with square-root term weights (pairs weigh half), and the vector is
// L2-normalised. The same text gives the same vector on every machine (features are added in
// a fixed order with exactly rounded operations only). Texts sharing words and phrases score
// higher (cosine) than unrelated texts.
type HashEmbedder struct {
	// Dims is the vector length; 0 means DefaultHashDims.
	Dims int
}

// NewHashEmbedder returns a HashEmbedder of the default dimension.
func NewHashEmbedder() *HashEmbedder { return &HashEmbedder{Dims: DefaultHashDims} }

// Dimensions implements Embedder.
func (h *HashEmbedder) Dimensions() int {
	if h == nil || h.Dims <= 0 {
		return DefaultHashDims
	}
	return h.Dims
}

// Name implements Embedder, e.g. "hash-v1-256".
func (h *HashEmbedder) Name() string { return "hash-v1-" + strconv.Itoa(h.Dimensions()) }

// Embed implements Embedder. It never fails except on a cancelled context.
func (h *HashEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out[i] = h.Vector(t)
	}
	return out, nil
}

// Vector embeds one text.
func (h *HashEmbedder) Vector(text string) []float32 {
	dims := h.Dimensions()
	words := Tokens(text)
	// Feature counts: words weigh 1 per occurrence, word pairs 1/4 (so sqrt → 1/2).
	counts := map[string]float64{}
	for i, w := range words {
		counts[w] += 1
		if i > 0 {
			counts[words[i-1]+" "+w] += 0.25
		}
	}
	feats := make([]string, 0, len(counts))
	for feat := range counts {
		feats = append(feats, feat)
	}
	sort.Strings(feats) // a fixed order of additions: floating-point sums depend on it
	acc := make([]float64, dims)
	for _, feat := range feats {
		n := counts[feat]
		f := fnv.New64a()
		f.Write([]byte(feat))
		sum := f.Sum64()
		idx := int(sum % uint64(dims))
		// Sub-linear weight; only exactly rounded operations (sqrt, +), so that every
		// machine computes the same bits.
		weight := math.Sqrt(n)
		if sum>>63 == 1 {
			weight = -weight
		}
		acc[idx] += weight
	}
	return normalize64(acc)
}

func normalize64(v []float64) []float32 {
	var norm float64
	for _, x := range v {
		norm += float64(x * x) // the conversion forbids a fused multiply-add (same bits everywhere)
	}
	out := make([]float32, len(v))
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

// stopwords are skipped by Tokens: they carry no topic and would make every text alike.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be but by for from had has have he her his
		i if in into is it its me my of on or our she so that the their them then there they this
		to was we were what when which who will with you your not no do did does than too very
		s t just been being am him us`) {
		stopwords[w] = true
	}
}

// Tokens lower-cases text and splits it into words of letters and digits, dropping a short
// list of very common English words. Apostrophes inside words are dropped ("don't" → "dont").
func Tokens(text string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			w := string(cur)
			if !stopwords[w] {
				out = append(out, w)
			}
			cur = cur[:0]
		}
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur = append(cur, unicode.ToLower(r))
		case r == '\'' || r == '’':
			// keep contractions together
		default:
			flush()
		}
	}
	flush()
	return out
}

// Cosine is the cosine similarity of two vectors (0 when either is zero or the lengths
// differ): the store's, so that retrieval and the stores score alike.
func Cosine(a, b []float32) float32 { return store.Cosine(a, b) }

// OpenAIEmbedder calls an OpenAI-compatible embeddings endpoint (POST {BaseURL}/embeddings
// when BaseURL ends in /v1, else {BaseURL}/v1/embeddings). Vectors are L2-normalised.
type OpenAIEmbedder struct {
	// BaseURL is the API root, e.g. "https://api.openai.com/v1" or "http://127.0.0.1:11434".
	BaseURL string
	// Model is the embeddings model, e.g. "text-embedding-3-small".
	Model string
	// APIKey is sent as a Bearer token when set.
	APIKey string
	// Dims, when set, is sent as "dimensions" and every returned vector must have that length.
	Dims int
	// Timeout bounds each HTTP request (default 30s).
	Timeout time.Duration
	// BatchSize is the number of texts per request (default 64).
	BatchSize int
	// HTTPClient is used when set (tests); otherwise http.DefaultClient with Timeout.
	HTTPClient *http.Client
}

// Dimensions implements Embedder (Dims; 0 when unset).
func (o *OpenAIEmbedder) Dimensions() int { return o.Dims }

// Name implements Embedder, e.g. "openai:text-embedding-3-small:256".
func (o *OpenAIEmbedder) Name() string { return "openai:" + o.Model + ":" + strconv.Itoa(o.Dims) }

// Check reports a configuration error (missing base URL or model).
func (o *OpenAIEmbedder) Check() error {
	switch {
	case o == nil:
		return errors.New("rag: openai embedder: not configured")
	case o.BaseURL == "":
		return errors.New("rag: openai embedder: BaseURL is required")
	case !strings.HasPrefix(o.BaseURL, "http://") && !strings.HasPrefix(o.BaseURL, "https://"):
		return fmt.Errorf("rag: openai embedder: BaseURL %q must start with http:// or https://", o.BaseURL)
	case o.Model == "":
		return errors.New("rag: openai embedder: Model is required")
	case o.Dims < 0:
		return fmt.Errorf("rag: openai embedder: Dims must not be negative, got %d", o.Dims)
	}
	return nil
}

// Endpoint is the URL the embedder posts to.
func (o *OpenAIEmbedder) Endpoint() string { return openai.URL(o.BaseURL, "embeddings") }

type embedRequest struct {
	Model      string   `json:"model"`
	Input      []string `json:"input"`
	Dimensions int      `json:"dimensions,omitempty"`
}

type embedResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

// Embed implements Embedder: it posts the texts in batches and checks the answer's count
// and dimensions.
func (o *OpenAIEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	batch := o.BatchSize
	if batch <= 0 {
		batch = 64
	}
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += batch {
		end := min(start+batch, len(texts))
		vecs, err := o.embedBatch(ctx, texts[start:end])
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

func (o *OpenAIEmbedder) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	body, err := json.Marshal(embedRequest{Model: o.Model, Input: texts, Dimensions: o.Dims})
	if err != nil {
		return nil, fmt.Errorf("rag: openai embedder: encode request: %w", err)
	}
	var resp embedResponse
	if err := postJSON(ctx, o.HTTPClient, o.Timeout, 30*time.Second, o.Endpoint(), o.APIKey, body, &resp); err != nil {
		return nil, fmt.Errorf("rag: openai embedder %s: %w", o.Endpoint(), err)
	}
	if len(resp.Data) != len(texts) {
		return nil, fmt.Errorf("rag: openai embedder %s: asked for %d embeddings, got %d", o.Endpoint(), len(texts), len(resp.Data))
	}
	out := make([][]float32, len(texts))
	for i, d := range resp.Data {
		idx := d.Index
		if idx < 0 || idx >= len(texts) || out[idx] != nil {
			idx = i // servers that omit or repeat "index" answer in order
		}
		if len(d.Embedding) == 0 {
			return nil, fmt.Errorf("rag: openai embedder %s: embedding %d is empty", o.Endpoint(), idx)
		}
		if o.Dims > 0 && len(d.Embedding) != o.Dims {
			return nil, fmt.Errorf("rag: openai embedder %s: embedding %d has %d dimensions, want %d (Dims)", o.Endpoint(), idx, len(d.Embedding), o.Dims)
		}
		v := make([]float64, len(d.Embedding))
		for j, x := range d.Embedding {
			v[j] = float64(x)
		}
		out[idx] = normalize64(v)
	}
	for i := range out {
		if out[i] == nil {
			return nil, fmt.Errorf("rag: openai embedder %s: no embedding for input %d", o.Endpoint(), i)
		}
	}
	return out, nil
}

// postJSON posts body to url and decodes a 2xx JSON answer into out. A non-2xx answer is an
// error naming the status and the server's error message.
func postJSON(ctx context.Context, client *http.Client, timeout, defTimeout time.Duration, url, apiKey string, body []byte, out any) error {
	if timeout <= 0 {
		timeout = defTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s: %w", timeout, err)
		}
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("status %d: %s", res.StatusCode, openai.ErrorMessage(raw))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("answer is not the expected JSON: %v (%s)", err, clip(string(raw), 200))
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Environment variables read by EmbedderFromEnv.
const (
	EnvEmbedURL    = "GIBSEY_EMBED_URL"
	EnvEmbedModel  = "GIBSEY_EMBED_MODEL"
	EnvEmbedAPIKey = "GIBSEY_EMBED_API_KEY"
	EnvEmbedDims   = "GIBSEY_EMBED_DIMS"
)

// EmbedderFromEnv returns an OpenAIEmbedder when GIBSEY_EMBED_URL is set (with
// GIBSEY_EMBED_MODEL, and optionally GIBSEY_EMBED_API_KEY and GIBSEY_EMBED_DIMS), else the
// default HashEmbedder. getenv is usually os.Getenv.
func EmbedderFromEnv(getenv func(string) string) (Embedder, error) {
	url := strings.TrimSpace(getenv(EnvEmbedURL))
	if url == "" {
		return NewHashEmbedder(), nil
	}
	o := &OpenAIEmbedder{BaseURL: url, Model: strings.TrimSpace(getenv(EnvEmbedModel)), APIKey: getenv(EnvEmbedAPIKey)}
	if d := strings.TrimSpace(getenv(EnvEmbedDims)); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("rag: %s must be a positive number, got %q", EnvEmbedDims, d)
		}
		o.Dims = n
	}
	if o.Model == "" {
		return nil, fmt.Errorf("rag: %s is set, so %s is required", EnvEmbedURL, EnvEmbedModel)
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	return o, nil
}
