// Command analyst is the Analyst voice (voice "analyst"): it answers a generated page (the
// request's parent page) with an analytical page linked to it, setting the page against
// passages of the novel it retrieves.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o analyst.wasm .
package main

import (
	"github.com/gibsey/gibsey/plugins/voices/analyst/analysis"
	"github.com/gibsey/gibsey/sdk/actor"
)

func main() {}

func init() {
	actor.Page(func(req *actor.Request) (*actor.Response, error) {
		ps, err := actor.Retrieve(analysis.Query(req.ParentText), req.CharacterID, req.SectionID, 3)
		if err != nil {
			return nil, err
		}
		return analysis.Page(req, ps, actor.Rand()), nil
	})
}
