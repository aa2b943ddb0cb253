package stream

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/host/store"
	"github.com/gibsey/gibsey/host/store/embedded"
)

type cast struct{}

func (cast) CharacterOfSection(n int) (string, bool) {
	if n == 8 {
		return "princhetta", true
	}
	return "london-fox", true
}
func (cast) CharacterByCode(code string) (string, bool) {
	switch code {
	case "PR":
		return "princhetta", true
	case "LF":
		return "london-fox", true
	}
	return "", false
}
func (cast) Known(id string) bool { return id == "princhetta" || id == "london-fox" }

type rig struct {
	p    *Processor
	st   store.Store
	mu   sync.Mutex
	sent []event.PageRequest
	envs []event.Envelope
}

func newRig(t *testing.T) *rig {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &rig{st: st}
	r.p = &Processor{Store: st, Cast: cast{}, Debounce: 50 * time.Millisecond, Voices: []string{"commentary"},
		Emit: func(ctx context.Context, env event.Envelope) error {
			pl, err := env.DecodePayload()
			if err != nil {
				return err
			}
			r.mu.Lock()
			r.sent = append(r.sent, *pl.(*event.PageRequest))
			r.envs = append(r.envs, env)
			r.mu.Unlock()
			return nil
		}}
	return r
}

func (r *rig) store(t *testing.T, env event.Envelope) {
	if _, err := r.st.AppendEvent(context.Background(), store.FromEnvelope(env, nil)); err != nil {
		t.Fatal(err)
	}
}

func env(t *testing.T, typ, sid string, ts time.Time, p any) event.Envelope {
	e, err := event.New(typ, sid, event.ActorUser, p)
	if err != nil {
		t.Fatal(err)
	}
	e.TS = ts
	return e
}

func TestSymbolBecomesAnEnrichedRequestWithADerivedID(t *testing.T) {
	r := newRig(t)
	sid := event.NewID()
	t0 := time.Now().UTC()
	// An earlier page of the session is in the request; a later one is not.
	for i, ts := range []time.Time{t0.Add(-time.Second), t0.Add(time.Second)} {
		r.store(t, env(t, event.TypePageDone, sid, ts, event.PageDone{PageID: event.NewID(), SessionID: sid, CharacterID: "princhetta", SectionID: 8,
			Orientation: "N", Voice: "page", Title: []string{"before", "after"}[i], Text: "text " + []string{"before", "after"}[i],
			Provenance: event.PageProvenance{Actor: "pagegen", ActorHash: "h"}}))
	}
	cue := env(t, event.TypeSymbol, sid, t0, event.SymbolClick{CharacterID: "princhetta", SectionID: 8, SymbolID: "S8-PR", Orientation: "S"})
	for i := 0; i < 2; i++ { // a redelivery yields the same request
		if err := r.p.Handle(context.Background(), cue, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.sent) != 2 || r.envs[0].EventID != r.envs[1].EventID || r.sent[0].RequestID != r.sent[1].RequestID {
		t.Fatalf("a redelivered cue must give the same request: %+v", r.envs)
	}
	req := r.sent[0]
	if req.Voice != "page" || req.CharacterID != "princhetta" || req.SectionID != 8 || req.Orientation != "S" || req.CauseEventID != cue.EventID {
		t.Fatalf("request %+v", req)
	}
	if len(req.RecentPages) != 1 || req.RecentPages[0].Title != "before" {
		t.Fatalf("recent pages %+v, want only the page before the cue", req.RecentPages)
	}
}

func TestDialTurnsSupersededInsideTheWindow(t *testing.T) {
	r := newRig(t)
	sid := event.NewID()
	t0 := time.Now().UTC()
	r.store(t, env(t, event.TypeSymbol, sid, t0.Add(-time.Second), event.SymbolClick{CharacterID: "london-fox", SectionID: 2, SymbolID: "S2-LF", Orientation: "N"}))
	turns := []event.Envelope{}
	for i, o := range []string{"E", "S", "W"} {
		turns = append(turns, env(t, event.TypeOrientation, sid, t0.Add(time.Duration(i)*time.Millisecond), event.OrientationTurn{Orientation: o}))
	}
	for i, turn := range turns {
		later := func(ctx context.Context) ([]event.Envelope, error) { return turns[i+1:], nil }
		if err := r.p.Handle(context.Background(), turn, later); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.sent) != 1 || r.sent[0].Orientation != "W" || r.sent[0].CharacterID != "london-fox" {
		t.Fatalf("three quick turns gave %+v, want one request facing W for london-fox", r.sent)
	}
}

func TestAskUsesTheSymbolItNames(t *testing.T) {
	r := newRig(t)
	sid := event.NewID()
	a := env(t, event.TypeAsk, sid, time.Now().UTC(), event.Ask{Prompt: "who?", Context: event.AskContext{Symbols: []string{"S8-PR"}}})
	if err := r.p.Handle(context.Background(), a, nil); err != nil {
		t.Fatal(err)
	}
	if len(r.sent) != 1 || r.sent[0].CharacterID != "princhetta" || r.sent[0].Prompt != "who?" {
		t.Fatalf("ask gave %+v", r.sent)
	}
}

func TestAPageIsAnsweredByTheVoices(t *testing.T) {
	r := newRig(t)
	sid := event.NewID()
	pd := event.PageDone{PageID: event.NewID(), SessionID: sid, CharacterID: "princhetta", SectionID: 8, Orientation: "E", Voice: "page", Title: "t", Text: "the page",
		Provenance: event.PageProvenance{Actor: "pagegen", ActorHash: "h"}}
	if err := r.p.Handle(context.Background(), env(t, event.TypePageDone, sid, time.Now().UTC(), pd), nil); err != nil {
		t.Fatal(err)
	}
	if len(r.sent) != 1 || r.sent[0].Voice != "commentary" || r.sent[0].ParentPageID != pd.PageID || r.sent[0].ParentText != "the page" {
		t.Fatalf("voices: %+v", r.sent)
	}
	// A voice's own page is not answered again.
	pd.Voice, pd.ParentPageID = "commentary", pd.PageID
	pd.PageID = event.NewID()
	if err := r.p.Handle(context.Background(), env(t, event.TypePageDone, sid, time.Now().UTC(), pd), nil); err != nil {
		t.Fatal(err)
	}
	if len(r.sent) != 1 {
		t.Fatalf("a commentary page was answered: %+v", r.sent)
	}
}

func TestSymbolCell(t *testing.T) {
	for in, want := range map[string]int{"S8-PR": 8, "S16-TA": 16, "S0-PR": 0, "S17-PR": 0, "PR": 0, "S8-": 0} {
		n, _, ok := SymbolCell(in)
		if (want == 0) == ok || n != want {
			t.Errorf("SymbolCell(%q) = %d, %v", in, n, ok)
		}
	}
}
