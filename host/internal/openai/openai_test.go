package openai

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for base, want := range map[string]string{
		"https://api.example.com/v1":  "https://api.example.com/v1/embeddings",
		"https://api.example.com/v1/": "https://api.example.com/v1/embeddings",
		"http://127.0.0.1:11434":      "http://127.0.0.1:11434/v1/embeddings",
	} {
		if got := URL(base, "embeddings"); got != want {
			t.Errorf("URL(%q) = %q, want %q", base, got, want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	cases := map[string]string{
		`{"error":{"message":"bad key"}}`: "bad key",
		`{"error":"quota"}`:               "quota",
		"  plain text  ":                  "plain text",
		"":                                "(empty body)",
	}
	for body, want := range cases {
		if got := ErrorMessage([]byte(body)); got != want {
			t.Errorf("ErrorMessage(%q) = %q, want %q", body, got, want)
		}
	}
	if got := ErrorMessage([]byte(strings.Repeat("x", 500))); len(got) != 300+len("…") {
		t.Errorf("long body not clipped: %d bytes", len(got))
	}
}
