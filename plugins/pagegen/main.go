// Command pagegen is the PageGenerator actor (voice "page"): retrieval-augmented composition of
// a new page from the passages of the requested character's section (through the retrieve host
// function) and the reader's recent pages, framed by the dial's orientation. When the host has a
// text generator configured it asks it, and composes offline otherwise.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o pagegen.wasm .
package main

import (
	"strings"

	"github.com/gibsey/gibsey/plugins/pagegen/compose"
	"github.com/gibsey/gibsey/sdk/actor"
)

func main() {}

func init() {
	actor.Page(page)
}

func page(req *actor.Request) (*actor.Response, error) {
	query := strings.TrimSpace(req.Meaning + " " + req.Prompt + " " + req.SymbolID)
	ps, err := actor.Retrieve(query, req.CharacterID, req.SectionID, 6)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 { // nothing in that cell: the character's other pages
		if ps, err = actor.Retrieve(query, req.CharacterID, 0, 6); err != nil {
			return nil, err
		}
	}
	resp := compose.Page(req, ps, actor.Rand())
	if len(ps) > 0 {
		text, err := actor.Generate(compose.Prompt(req), ps)
		if err == nil && strings.TrimSpace(text) != "" {
			resp.Text = text
			resp.Generator = "llm"
		} else if err != nil && err != actor.ErrUnavailable && err != actor.ErrDenied {
			actor.LogAt(actor.LevelWarn, "generate failed, composing offline: "+err.Error())
		}
	}
	return resp, nil
}
