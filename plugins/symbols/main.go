// Command symbols is the SymbolInterpreter actor (voice "symbols"): asked what a symbol means
// in an orientation, it answers with a short meaning, grounded in the words of the character's
// passages, that the stream processor adds to the page request.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o symbols.wasm .
package main

import (
	"github.com/gibsey/gibsey/plugins/symbols/meaning"
	"github.com/gibsey/gibsey/sdk/actor"
)

func main() {}

func init() {
	actor.Interpret(func(req *actor.Request) (string, error) {
		ps, err := actor.Retrieve(req.SymbolID+" "+req.Prompt, req.CharacterID, req.SectionID, 4)
		if err != nil {
			return "", err
		}
		return meaning.Of(req, ps), nil
	})
}
