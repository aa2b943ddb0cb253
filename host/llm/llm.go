// Package llm is an optional client for an OpenAI-compatible chat-completions endpoint,
// used to write a page from a prompt and retrieved passages. A nil or zero Client is "not
// configured": callers check Configured and fall back to composing pages offline.
package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gibsey/gibsey/host/internal/openai"
)

// DefaultTimeout bounds one Generate call when Client.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// DefaultSystemPrompt tells the model what it is writing.
const DefaultSystemPrompt = "You are a voice of Gibsey, an interactive novel set in a surreal theme park. " +
	"Write one short page of prose (at most about 250 words) in the voice of the requested character. " +
	"Draw on the numbered passages you are given, quoting a phrase or two from them; do not invent facts that contradict them. " +
	"Answer with the page text only."

// ErrNotConfigured is returned by Generate on a nil or zero client.
var ErrNotConfigured = errors.New("llm: not configured (set a base URL and a model)")

// Client talks to an OpenAI-compatible chat-completions endpoint: POST
// {BaseURL}/chat/completions when BaseURL ends in /v1, else {BaseURL}/v1/chat/completions.
type Client struct {
	// BaseURL is the API root, e.g. "https://api.openai.com/v1" or "http://127.0.0.1:11434".
	BaseURL string
	// Model is the chat model name.
	Model string
	// APIKey is sent as a Bearer token when set.
	APIKey string
	// Timeout bounds each call (default DefaultTimeout).
	Timeout time.Duration
	// System replaces DefaultSystemPrompt when set.
	System string
	// MaxTokens caps the answer (default 600).
	MaxTokens int
	// Temperature of sampling (0 = as deterministic as the server allows).
	Temperature float64
	// HTTPClient is used when set; otherwise http.DefaultClient.
	HTTPClient *http.Client
}

// Configured reports whether c can be used (non-nil, with a base URL and a model).
func (c *Client) Configured() bool {
	return c != nil && strings.TrimSpace(c.BaseURL) != "" && strings.TrimSpace(c.Model) != ""
}

// Endpoint is the URL Generate posts to.
func (c *Client) Endpoint() string { return openai.URL(c.BaseURL, "chat/completions") }

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model       string    `json:"model"`
	Messages    []message `json:"messages"`
	MaxTokens   int       `json:"max_tokens,omitempty"`
	Temperature float64   `json:"temperature"`
	Stream      bool      `json:"stream"`
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

// messages builds the chat messages of a call: the system prompt, then the passages
// (numbered) and the prompt as the user message.
func (c *Client) messages(prompt string, passages []string) []message {
	system := c.System
	if system == "" {
		system = DefaultSystemPrompt
	}
	var user strings.Builder
	if len(passages) > 0 {
		user.WriteString("Passages:\n")
		for i, p := range passages {
			user.WriteString("[" + strconv.Itoa(i+1) + "] " + strings.TrimSpace(p) + "\n\n")
		}
	}
	user.WriteString("Request: ")
	user.WriteString(strings.TrimSpace(prompt))
	return []message{{Role: "system", Content: system}, {Role: "user", Content: user.String()}}
}

// Generate asks the model for a page written from prompt and passages and returns its text.
// Errors name the endpoint and say what went wrong: not configured, no answer within the
// timeout, a non-2xx status (with the server's message), an answer that is not the expected
// JSON, or an empty answer.
func (c *Client) Generate(ctx context.Context, prompt string, passages []string) (string, error) {
	if !c.Configured() {
		return "", ErrNotConfigured
	}
	if strings.TrimSpace(prompt) == "" {
		return "", errors.New("llm: prompt is empty")
	}
	maxTokens := c.MaxTokens
	if maxTokens <= 0 {
		maxTokens = 600
	}
	body, err := json.Marshal(chatRequest{Model: c.Model, Messages: c.messages(prompt, passages), MaxTokens: maxTokens, Temperature: c.Temperature})
	if err != nil {
		return "", fmt.Errorf("llm: encode request: %w", err)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := c.Endpoint()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("llm: %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", fmt.Errorf("llm: %s: no answer within %s: %w", url, timeout, err)
		}
		return "", fmt.Errorf("llm: %s: %w", url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", fmt.Errorf("llm: %s: no complete answer within %s: %w", url, timeout, err)
		}
		return "", fmt.Errorf("llm: %s: read answer: %w", url, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return "", fmt.Errorf("llm: %s: status %d: %s", url, res.StatusCode, openai.ErrorMessage(raw))
	}
	var cr chatResponse
	if err := json.Unmarshal(raw, &cr); err != nil {
		return "", fmt.Errorf("llm: %s: answer is not chat-completions JSON: %v", url, err)
	}
	if len(cr.Choices) == 0 {
		return "", fmt.Errorf("llm: %s: answer has no choices", url)
	}
	text := strings.TrimSpace(cr.Choices[0].Message.Content)
	if text == "" {
		return "", fmt.Errorf("llm: %s: answer is empty (finish_reason %q)", url, cr.Choices[0].FinishReason)
	}
	return text, nil
}

// Environment variables read by FromEnv.
const (
	EnvURL     = "GIBSEY_LLM_URL"
	EnvModel   = "GIBSEY_LLM_MODEL"
	EnvAPIKey  = "GIBSEY_LLM_API_KEY"
	EnvTimeout = "GIBSEY_LLM_TIMEOUT"
)

// FromEnv returns a client configured from GIBSEY_LLM_URL, GIBSEY_LLM_MODEL,
// GIBSEY_LLM_API_KEY and GIBSEY_LLM_TIMEOUT (a Go duration), or nil when GIBSEY_LLM_URL is
// unset. getenv is usually os.Getenv.
func FromEnv(getenv func(string) string) (*Client, error) {
	url := strings.TrimSpace(getenv(EnvURL))
	if url == "" {
		return nil, nil
	}
	c := &Client{BaseURL: url, Model: strings.TrimSpace(getenv(EnvModel)), APIKey: getenv(EnvAPIKey)}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("llm: %s must start with http:// or https://, got %q", EnvURL, url)
	}
	if c.Model == "" {
		return nil, fmt.Errorf("llm: %s is set, so %s is required", EnvURL, EnvModel)
	}
	if t := strings.TrimSpace(getenv(EnvTimeout)); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("llm: %s must be a positive duration such as 30s, got %q", EnvTimeout, t)
		}
		c.Timeout = d
	}
	return c, nil
}
