// Command pagegen is the PageGenerator actor (voice "page"): retrieval-augmented composition of
// a new page. A turn of the dial draws on the passages of the requested character's section
// (through the retrieve host function), framed by the dial's orientation; only facing West does
// it also remember (one sentence of) the pages the reader already read. A question (an ask,
// req.Prompt set) is answered from the passages nearest it across the whole novel, those of the
// character it names first. When the host has a text generator configured it asks it, and
// composes offline otherwise.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o pagegen.wasm .
package main

import (
	"strings"

	"github.com/gibsey/gibsey/plugins/internal/prose"
	"github.com/gibsey/gibsey/plugins/pagegen/compose"
	"github.com/gibsey/gibsey/sdk/actor"
)

// K is the number of passages a page draws on.
const K = 6

func main() {}

func init() {
	actor.Page(page)
}

func page(req *actor.Request) (*actor.Response, error) {
	var ps []actor.Passage
	var err error
	if compose.IsAsk(req) {
		ps, err = askPassages(req)
	} else {
		ps, err = dialPassages(req)
	}
	if err != nil {
		return nil, err
	}
	ps = compose.Usable(req, ps)
	resp := compose.Page(req, ps, actor.Rand())
	if len(ps) > 0 {
		text, err := actor.Generate(compose.Prompt(req), ps)
		if err == nil && strings.TrimSpace(text) != "" {
			if compose.IsAsk(req) && !strings.Contains(text, compose.Question(req)) {
				text = compose.AskOpening(req) + "\n\n" + strings.TrimSpace(text)
			}
			resp.Text = text
			resp.Generator = "llm"
		} else if err != nil && err != actor.ErrUnavailable && err != actor.ErrDenied {
			actor.LogAt(actor.LevelWarn, "generate failed, composing offline: "+err.Error())
		}
	}
	return resp, nil
}

// dialPassages are the passages of the requested character's section (of the character's other
// sections when that cell has none).
func dialPassages(req *actor.Request) ([]actor.Passage, error) {
	query := strings.TrimSpace(req.Meaning + " " + req.SymbolID)
	ps, err := actor.Retrieve(query, req.CharacterID, req.SectionID, K)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return actor.Retrieve(query, req.CharacterID, 0, K)
	}
	return ps, nil
}

// askPassages are the passages nearest the question across the whole novel, preceded by those of
// the character the question names (else of the page's character).
func askPassages(req *actor.Request) ([]actor.Passage, error) {
	q := compose.Question(req)
	var named []actor.Passage
	id := prose.Mentioned(q)
	if id == "" {
		id = req.CharacterID
	}
	if id != "" {
		ps, err := actor.Retrieve(q, id, 0, K)
		if err != nil { // e.g. a corpus without that character: answer from the whole novel
			actor.LogAt(actor.LevelWarn, "retrieve for "+id+" failed, answering from the whole novel: "+err.Error())
		}
		named = ps
	}
	all, err := actor.Retrieve(q, "", 0, K)
	if err != nil && len(named) == 0 {
		return nil, err
	}
	seen := map[string]bool{}
	var out []actor.Passage
	for _, p := range append(named, all...) {
		if !seen[p.ID] && len(out) < K {
			seen[p.ID] = true
			out = append(out, p)
		}
	}
	return out, nil
}
