package actor

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gibsey/gibsey/sdk/frame"
)

// TestDispatchAcceptsFrameAndJSONRequests checks that a voice answers the same page whether
// the host sends the request as a frame or in the JSON form (manifest "encoding": "json"),
// and that request kinds are told apart.
func TestDispatchAcceptsFrameAndJSONRequests(t *testing.T) {
	Page(func(req *Request) (*Response, error) {
		return &Response{Title: "for " + req.CharacterID, Text: req.ParentText + "|" + strings.Join(req.Symbols, ",") + "|" + req.RecentPages[0].Title}, nil
	})
	Interpret(func(req *Request) (string, error) { return "means " + req.SymbolID, nil })
	defer Page(nil)
	defer Interpret(nil)

	req := &frame.Request{Kind: "page", CharacterID: "london-fox", SectionID: 3, TSMillis: 1764806400000,
		ParentText: strings.Repeat("é", 300), Symbols: []string{"a", "b"}, RecentPages: []frame.PageRef{{Title: "earlier", SectionID: 2}}}
	var e frame.Encoder
	e.AppendRequest(req)
	fr := append([]byte(nil), e.Bytes()...)
	js, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	want := req.ParentText + "|a,b|earlier"
	for name, msg := range map[string][]byte{"frame": fr, "json": js} {
		var out frame.Encoder
		dispatch(msg, &out)
		var resp frame.Response
		if err := frame.DecodeResponse(out.Bytes(), &resp); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if resp.Error != "" || resp.Title != "for london-fox" || resp.Text != want {
			t.Errorf("%s request: got title %q, error %q, text %d bytes; want the page", name, resp.Title, resp.Error, len(resp.Text))
		}
	}

	for kind, want := range map[string]string{"interpret": "means S1", "pages": "", "": ""} {
		var e frame.Encoder
		e.AppendRequest(&frame.Request{Kind: kind, SymbolID: "S1"})
		var out frame.Encoder
		dispatch(e.Bytes(), &out)
		var resp frame.Response
		if err := frame.DecodeResponse(out.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		if want != "" && (resp.Meaning != want || resp.Error != "") {
			t.Errorf("kind %q: meaning %q, error %q; want %q", kind, resp.Meaning, resp.Error, want)
		}
		if want == "" && !strings.Contains(resp.Error, "unknown request kind") {
			t.Errorf("kind %q: error %q, want an unknown-kind error", kind, resp.Error)
		}
	}

	var out frame.Encoder
	dispatch([]byte(`{"kind": 7}`), &out)
	var resp frame.Response
	if err := frame.DecodeResponse(out.Bytes(), &resp); err != nil || !strings.Contains(resp.Error, "malformed JSON request") {
		t.Errorf("a malformed JSON request answered %q (err %v), want a malformed-JSON error", resp.Error, err)
	}
}
