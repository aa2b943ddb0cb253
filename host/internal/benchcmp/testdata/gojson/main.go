// Command gojson is the benchmark's naive guest: the Gibsey ABI written by hand with
// encoding/json for the request and the response, and no SDK. It is what the SDK's frame
// path is measured against.
package main

import (
	"encoding/json"
	"strconv"
	"unsafe"
)

func main() {}

type pageRef struct {
	PageID      string `json:"page_id,omitempty"`
	CharacterID string `json:"character_id,omitempty"`
	SectionID   int    `json:"section_id,omitempty"`
	Title       string `json:"title,omitempty"`
	Text        string `json:"text,omitempty"`
}

type request struct {
	Kind         string    `json:"kind"`
	EventID      string    `json:"event_id,omitempty"`
	SessionID    string    `json:"session_id,omitempty"`
	TSMillis     int64     `json:"ts_ms,omitempty"`
	Actor        string    `json:"actor,omitempty"`
	RequestID    string    `json:"request_id,omitempty"`
	CauseEventID string    `json:"cause_event_id,omitempty"`
	CauseType    string    `json:"cause_type,omitempty"`
	Voice        string    `json:"voice,omitempty"`
	CharacterID  string    `json:"character_id,omitempty"`
	SectionID    int       `json:"section_id,omitempty"`
	SymbolID     string    `json:"symbol_id,omitempty"`
	Orientation  string    `json:"orientation,omitempty"`
	Prompt       string    `json:"prompt,omitempty"`
	Symbols      []string  `json:"symbols,omitempty"`
	Meaning      string    `json:"meaning,omitempty"`
	ParentPageID string    `json:"parent_page_id,omitempty"`
	ParentText   string    `json:"parent_text,omitempty"`
	RecentPages  []pageRef `json:"recent_pages,omitempty"`
	Attempt      int       `json:"attempt,omitempty"`
}

type response struct {
	Title string `json:"title,omitempty"`
	Text  string `json:"text,omitempty"`
	Error string `json:"error,omitempty"`
}

var (
	in  []byte
	out []byte
)

//go:wasmexport gibsey_abi_version
func abiVersion() int32 { return 0 }

//go:wasmexport alloc
func alloc(n int32) int32 {
	if n < 1 {
		n = 1
	}
	if int(n) > cap(in) {
		in = make([]byte, n)
	}
	in = in[:n]
	return int32(uintptr(unsafe.Pointer(&in[0])))
}

//go:wasmexport handle
func handle(ptr, n int32) int64 {
	req := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), int(n))
	var r request
	var resp response
	if err := json.Unmarshal(req, &r); err != nil {
		resp.Error = err.Error()
	} else if r.Prompt == "codec-only" {
		resp.Title, resp.Text = "Echo of "+r.CharacterID, r.ParentText
	} else {
		resp.Title, resp.Text = echo(r.CharacterID, r.Orientation, r.ParentText)
	}
	out, _ = json.Marshal(&resp)
	return int64(uint32(uintptr(unsafe.Pointer(&out[0]))))<<32 | int64(uint32(len(out)))
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
