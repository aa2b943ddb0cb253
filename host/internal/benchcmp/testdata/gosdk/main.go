// Command gosdk is the benchmark guest built on the Go SDK (sdk/actor): it answers a page
// request with the echo work of package benchcmp (count the words of parent_text, upper-case
// it). The host picks frame or JSON by the request's first byte.
package main

import (
	"strconv"

	"github.com/gibsey/gibsey/sdk/actor"
)

func main() {}

func init() {
	actor.Page(func(req *actor.Request) (*actor.Response, error) {
		if req.Prompt == "codec-only" {
			return &actor.Response{Title: "Echo of " + req.CharacterID, Text: req.ParentText}, nil
		}
		title, text := echo(req.CharacterID, req.Orientation, req.ParentText)
		return &actor.Response{Title: title, Text: text}, nil
	})
}

// echo is the benchmark's work; it must match benchcmp.Echo (TestBenchGuestsAgree checks).
// A request whose prompt is "codec-only" skips it: the page's text is the parent_text.
func echo(character, orientation, text string) (title, body string) {
	words := 0
	in := false
	b := make([]byte, 0, len(text)+48)
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
