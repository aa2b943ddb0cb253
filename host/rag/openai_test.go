package rag

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeEmbeddings answers like an OpenAI embeddings endpoint: vector i of a batch is
// [len(input_i), 1, 0], listed in reverse order to check that "index" is honoured.
func fakeEmbeddings(calls *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/v1/embeddings" || r.Method != http.MethodPost {
			http.Error(w, `{"error":{"message":"wrong path `+r.URL.Path+`"}}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer sk-test" {
			http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
			return
		}
		var req embedRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "emb-model" || req.Dimensions != 3 {
			http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
			return
		}
		type item struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		var data []item
		for i := len(req.Input) - 1; i >= 0; i-- {
			data = append(data, item{Index: i, Embedding: []float32{float32(len(req.Input[i])), 1, 0}})
		}
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
	}
}

func TestOpenAIEmbedder(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(fakeEmbeddings(&calls))
	defer srv.Close()
	for _, base := range []string{srv.URL, srv.URL + "/v1", srv.URL + "/v1/"} {
		calls.Store(0)
		e := &OpenAIEmbedder{BaseURL: base, Model: "emb-model", APIKey: "sk-test", Dims: 3, BatchSize: 2}
		vecs, err := e.Embed(context.Background(), []string{"a", "bbb", "cc"})
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if n := calls.Load(); n != 2 {
			t.Fatalf("%s: 3 texts in batches of 2 took %d requests", base, n)
		}
		for i, want := range []float64{1, 3, 2} {
			n := math.Sqrt(want*want + 1)
			if len(vecs[i]) != 3 || math.Abs(float64(vecs[i][0])-want/n) > 1e-6 || math.Abs(float64(vecs[i][1])-1/n) > 1e-6 {
				t.Fatalf("%s: vector %d = %v, want normalised [%v 1 0]", base, i, vecs[i], want)
			}
		}
	}
	e := &OpenAIEmbedder{BaseURL: srv.URL, Model: "emb-model", Dims: 3}
	if e.Name() != "openai:emb-model:3" || e.Dimensions() != 3 {
		t.Fatalf("name %q dims %d", e.Name(), e.Dimensions())
	}
}

func TestOpenAIEmbedderErrors(t *testing.T) {
	ctx := context.Background()
	serve := func(h http.HandlerFunc) *httptest.Server {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv
	}
	status := serve(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":{"message":"slow down","type":"rate_limit"}}`))
	})
	badJSON := serve(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"data": [oops`)) })
	short := serve(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"data":[{"index":0,"embedding":[1,2,3]}]}`))
	})
	wrongDims := serve(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"data":[{"index":0,"embedding":[1,2]}]}`))
	})
	release := make(chan struct{})
	slow := serve(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)

	cases := []struct {
		name  string
		e     *OpenAIEmbedder
		texts []string
		want  string
	}{
		{"status", &OpenAIEmbedder{BaseURL: status.URL, Model: "m"}, []string{"x"}, "status 429: slow down"},
		{"bad json", &OpenAIEmbedder{BaseURL: badJSON.URL, Model: "m"}, []string{"x"}, "not the expected JSON"},
		{"count", &OpenAIEmbedder{BaseURL: short.URL, Model: "m"}, []string{"x", "y"}, "asked for 2 embeddings, got 1"},
		{"dims", &OpenAIEmbedder{BaseURL: wrongDims.URL, Model: "m", Dims: 3}, []string{"x"}, "has 2 dimensions, want 3"},
		{"timeout", &OpenAIEmbedder{BaseURL: slow.URL, Model: "m", Timeout: 50 * time.Millisecond}, []string{"x"}, "no answer within 50ms"},
		{"no model", &OpenAIEmbedder{BaseURL: status.URL}, []string{"x"}, "Model is required"},
		{"no url", &OpenAIEmbedder{Model: "m"}, []string{"x"}, "BaseURL is required"},
		{"bad url", &OpenAIEmbedder{BaseURL: "ftp://x", Model: "m"}, []string{"x"}, "must start with http"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.e.Embed(ctx, tc.texts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestEmbedderFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	e, err := EmbedderFromEnv(env(nil))
	if err != nil || e.Name() != "hash-v1-256" {
		t.Fatalf("default: %v %v", e, err)
	}
	e, err = EmbedderFromEnv(env(map[string]string{EnvEmbedURL: "http://127.0.0.1:1/v1", EnvEmbedModel: "m", EnvEmbedDims: "64"}))
	if err != nil || e.Name() != "openai:m:64" || e.Dimensions() != 64 {
		t.Fatalf("openai: %v %v", e, err)
	}
	for _, bad := range []map[string]string{
		{EnvEmbedURL: "http://x"},
		{EnvEmbedURL: "http://x", EnvEmbedModel: "m", EnvEmbedDims: "many"},
		{EnvEmbedURL: "x", EnvEmbedModel: "m"},
	} {
		if _, err := EmbedderFromEnv(env(bad)); err == nil || !strings.Contains(err.Error(), "GIBSEY_EMBED") && !strings.Contains(err.Error(), "http") {
			t.Fatalf("%v: %v", bad, err)
		}
	}
}
