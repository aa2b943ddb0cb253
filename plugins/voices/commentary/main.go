// Command commentary is the Commentary voice (voice "commentary"): it answers a generated page
// (the request's parent page) with marginal notes linked to it, and sets one passage of the
// novel beside them.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o commentary.wasm .
package main

import (
	"github.com/gibsey/gibsey/plugins/voices/commentary/gloss"
	"github.com/gibsey/gibsey/sdk/actor"
)

func main() {}

func init() {
	actor.Page(func(req *actor.Request) (*actor.Response, error) {
		ps, err := actor.Retrieve(gloss.Query(req.ParentText), req.CharacterID, req.SectionID, 2)
		if err != nil {
			return nil, err
		}
		return gloss.Page(req, ps, actor.Rand()), nil
	})
}
