// Command extismguest is the benchmark's guest for Extism (github.com/extism/go-pdk): the same
// work as the other guests, with encoding/json for the request and the response, called by
// the host through github.com/extism/go-sdk. It has its own go.mod so that the main module
// does not depend on the PDK.
package main

import (
	"encoding/json"
	"strconv"

	"github.com/extism/go-pdk"
)

func main() {}

type request struct {
	Kind        string   `json:"kind"`
	EventID     string   `json:"event_id,omitempty"`
	SessionID   string   `json:"session_id,omitempty"`
	TSMillis    int64    `json:"ts_ms,omitempty"`
	Actor       string   `json:"actor,omitempty"`
	RequestID   string   `json:"request_id,omitempty"`
	Voice       string   `json:"voice,omitempty"`
	CharacterID string   `json:"character_id,omitempty"`
	SectionID   int      `json:"section_id,omitempty"`
	SymbolID    string   `json:"symbol_id,omitempty"`
	Orientation string   `json:"orientation,omitempty"`
	Prompt      string   `json:"prompt,omitempty"`
	Symbols     []string `json:"symbols,omitempty"`
	ParentText  string   `json:"parent_text,omitempty"`
	RecentPages []struct {
		PageID      string `json:"page_id,omitempty"`
		CharacterID string `json:"character_id,omitempty"`
		SectionID   int    `json:"section_id,omitempty"`
		Title       string `json:"title,omitempty"`
		Text        string `json:"text,omitempty"`
	} `json:"recent_pages,omitempty"`
}

type response struct {
	Title string `json:"title,omitempty"`
	Text  string `json:"text,omitempty"`
	Error string `json:"error,omitempty"`
}

//go:wasmexport handle
func handle() int32 {
	var r request
	if err := json.Unmarshal(pdk.Input(), &r); err != nil {
		pdk.SetError(err)
		return 1
	}
	var resp response
	if r.Prompt == "codec-only" {
		resp.Title, resp.Text = "Echo of "+r.CharacterID, r.ParentText
	} else {
		resp.Title, resp.Text = echo(r.CharacterID, r.Orientation, r.ParentText)
	}
	b, _ := json.Marshal(&resp)
	pdk.Output(b)
	return 0
}

// echo is the benchmark's work; it must match benchcmp.Echo (TestBenchGuestsAgree checks).
// A request whose prompt is "codec-only" skips it: the page's text is the parent_text.
func echo(character, orientation, text string) (title, body string) {
	words := 0
	in := false
	b := make([]byte, 0, len(text)+48)
	b = strconv.AppendInt(b, 0, 10)[:0]
	up := make([]byte, len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			in = false
		} else if !in {
			in = true
			words++
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	b = strconv.AppendInt(b, int64(words), 10)
	b = append(b, " words, facing "...)
	b = append(b, orientation...)
	b = append(b, ":\n\n"...)
	b = append(b, up...)
	return "Echo of " + character, string(b)
}
