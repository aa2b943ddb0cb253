package event

import (
	"errors"
	"strings"
	"testing"
)

func TestNewEnvelopeRoundTrips(t *testing.T) {
	sid := NewID()
	e, err := New(TypeSymbol, sid, ActorUser, SymbolClick{CharacterID: "princhetta", SectionID: 8, SymbolID: "S8-PR", Orientation: "N"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("decode own envelope: %v", err)
	}
	if got.EventID != e.EventID || got.SessionID != sid || !got.TS.Equal(e.TS) {
		t.Fatalf("round trip changed the envelope: %+v vs %+v", got, e)
	}
	h := HeadersFor(got)
	if h[HeaderCharacter] != "princhetta" || h[HeaderSection] != "8" || h[HeaderOrientation] != "N" || h[HeaderSymbol] != "S8-PR" {
		t.Fatalf("headers: %v", h)
	}
}

func TestDecodeRejectsWithReason(t *testing.T) {
	sid := NewID()
	good, _ := New(TypeSymbol, sid, ActorUser, SymbolClick{CharacterID: "x", SectionID: 1, SymbolID: "S1-X", Orientation: "E"})
	okJSON, _ := good.Marshal()
	cases := map[string]struct {
		in   string
		want string
	}{
		"not json":        {"hello", "malformed"},
		"bad id":          {strings.Replace(string(okJSON), good.EventID, "nope", 1), "event_id"},
		"unknown type":    {strings.Replace(string(okJSON), `"ui.symbol"`, `"what.ever"`, 1), "unknown event type"},
		"bad section":     {strings.Replace(string(okJSON), `"section_id":1`, `"section_id":17`, 1), "section_id"},
		"bad orientation": {strings.Replace(string(okJSON), `"orientation":"E"`, `"orientation":"Q"`, 1), "orientation"},
		"payload schema":  {strings.Replace(string(okJSON), `"section_id":1`, `"section_id":"one"`, 1), "schema"},
	}
	for name, c := range cases {
		_, err := Decode([]byte(c.in))
		if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a malformed error mentioning %q", name, err, c.want)
		}
	}
}

func TestEveryTypeHasATopic(t *testing.T) {
	seen := map[string]bool{}
	for typ, topic := range typeTopics {
		if topic == "" || seen[topic] {
			t.Fatalf("type %s: topic %q empty or shared", typ, topic)
		}
		seen[topic] = true
	}
	if len(Topics) != 10 {
		t.Fatalf("want the ten topics of DESIGN.md, have %d", len(Topics))
	}
}
