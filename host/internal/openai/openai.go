// Package openai holds what the host's two clients of OpenAI-compatible APIs (the
// embeddings client in host/rag and the chat client in host/llm) share: how an endpoint URL
// is formed from a base URL, and how an API error body is turned into a readable message.
package openai

import (
	"encoding/json"
	"strings"
)

// URL joins an OpenAI-style base URL and an endpoint path: ".../v1" + "embeddings" →
// ".../v1/embeddings"; "http://host" + "embeddings" → "http://host/v1/embeddings".
func URL(base, endpoint string) string {
	base = strings.TrimRight(base, "/")
	if strings.HasSuffix(base, "/v1") {
		return base + "/" + endpoint
	}
	return base + "/v1/" + endpoint
}

// ErrorMessage extracts {"error": {"message": …}} (or {"error": "…"}) from an API error
// body, falling back to the start of the body (at most 300 bytes).
func ErrorMessage(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var obj struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(e.Error, &obj) == nil && obj.Message != "" {
			return obj.Message
		}
		var s string
		if json.Unmarshal(e.Error, &s) == nil && s != "" {
			return s
		}
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		return "(empty body)"
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}
