package llm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestGenerate(t *testing.T) {
	var mu sync.Mutex
	var got chatRequest
	var path, auth string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		path, auth = r.URL.Path, r.Header.Get("Authorization")
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"  The swan boat turns.  "},"finish_reason":"stop"}]}`))
	})
	for _, base := range []string{srv.URL, srv.URL + "/v1"} {
		c := &Client{BaseURL: base, Model: "chat-model", APIKey: "sk-1", Timeout: 10 * time.Second}
		text, err := c.Generate(context.Background(), "Write princhetta's page.", []string{"first passage", "second passage"})
		if err != nil {
			t.Fatal(err)
		}
		if text != "The swan boat turns." {
			t.Fatalf("text %q", text)
		}
		mu.Lock()
		if path != "/v1/chat/completions" || auth != "Bearer sk-1" || got.Model != "chat-model" || len(got.Messages) != 2 || got.Stream {
			t.Fatalf("request: path %s auth %q body %+v", path, auth, got)
		}
		user := got.Messages[1].Content
		if got.Messages[0].Role != "system" || got.Messages[1].Role != "user" ||
			!strings.Contains(user, "[1] first passage") || !strings.Contains(user, "[2] second passage") || !strings.Contains(user, "Write princhetta's page.") {
			t.Fatalf("messages: %+v", got.Messages)
		}
		mu.Unlock()
	}
}

func TestGenerateErrors(t *testing.T) {
	ctx := context.Background()
	status := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"error":{"message":"model overloaded"}}`))
	})
	plain := serve(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gateway says no", http.StatusBadGateway) })
	badJSON := serve(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`<html>hello</html>`)) })
	noChoices := serve(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"choices":[]}`)) })
	empty := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"choices":[{"message":{"content":" "},"finish_reason":"length"}]}`))
	})
	release := make(chan struct{})
	slow := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)

	cases := []struct {
		name string
		c    *Client
		want string
	}{
		{"status with message", &Client{BaseURL: status.URL, Model: "m"}, "status 500: model overloaded"},
		{"status with text", &Client{BaseURL: plain.URL, Model: "m"}, "status 502: gateway says no"},
		{"bad json", &Client{BaseURL: badJSON.URL, Model: "m"}, "not chat-completions JSON"},
		{"no choices", &Client{BaseURL: noChoices.URL, Model: "m"}, "no choices"},
		{"empty answer", &Client{BaseURL: empty.URL, Model: "m"}, `empty (finish_reason "length")`},
		{"timeout", &Client{BaseURL: slow.URL, Model: "m", Timeout: 50 * time.Millisecond}, "no answer within 50ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Generate(ctx, "page please", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "/v1/chat/completions") {
				t.Fatalf("got %v, want an error naming the endpoint and containing %q", err, tc.want)
			}
		})
	}
	// A cancelled caller context stops the call too.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := (&Client{BaseURL: slow.URL, Model: "m"}).Generate(cctx, "p", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestNotConfigured(t *testing.T) {
	var nilClient *Client
	for _, c := range []*Client{nilClient, {}, {BaseURL: "http://x"}, {Model: "m"}} {
		if c.Configured() {
			t.Fatalf("%+v should not be configured", c)
		}
		if _, err := c.Generate(context.Background(), "p", nil); !errors.Is(err, ErrNotConfigured) {
			t.Fatalf("%+v: %v", c, err)
		}
	}
	if !(&Client{BaseURL: "http://x", Model: "m"}).Configured() {
		t.Fatal("base URL + model is configured")
	}
	if _, err := (&Client{BaseURL: "http://x", Model: "m"}).Generate(context.Background(), " ", nil); err == nil {
		t.Fatal("an empty prompt should be an error")
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if c, err := FromEnv(env(nil)); c != nil || err != nil {
		t.Fatalf("unset: %v %v", c, err)
	}
	c, err := FromEnv(env(map[string]string{EnvURL: "http://127.0.0.1:1", EnvModel: "m", EnvTimeout: "5s", EnvAPIKey: "k"}))
	if err != nil || !c.Configured() || c.Timeout != 5*time.Second || c.APIKey != "k" {
		t.Fatalf("set: %+v %v", c, err)
	}
	for _, bad := range []map[string]string{
		{EnvURL: "http://x"},
		{EnvURL: "x", EnvModel: "m"},
		{EnvURL: "http://x", EnvModel: "m", EnvTimeout: "soon"},
	} {
		if _, err := FromEnv(env(bad)); err == nil || !strings.Contains(err.Error(), "GIBSEY_LLM_") {
			t.Fatalf("%v: %v", bad, err)
		}
	}
}
