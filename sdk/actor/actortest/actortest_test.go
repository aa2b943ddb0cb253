package actortest_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/gibsey/gibsey/sdk/actor"
	"github.com/gibsey/gibsey/sdk/actor/actortest"
)

// A voice using every SDK wrapper, run natively.
func init() {
	actor.Page(func(req *actor.Request) (*actor.Response, error) {
		if req.Prompt == "fail" {
			return nil, errors.New("cannot write this page")
		}
		ps, err := actor.Retrieve("fox", req.CharacterID, req.SectionID, 2)
		if err != nil {
			return nil, err
		}
		n := 0
		if v, ok, err := actor.State("visits"); err != nil {
			return nil, err
		} else if ok {
			n, _ = strconv.Atoi(string(v))
		}
		n++
		if err := actor.SetState("visits", []byte(strconv.Itoa(n))); err != nil {
			return nil, err
		}
		_, gerr := actor.Generate("p", ps)
		pg, perr := actor.CorpusPage(7)
		actor.Log("writing")
		var texts []string
		for _, p := range ps {
			texts = append(texts, p.Text)
		}
		return &actor.Response{
			Title: actor.Now().Format("2006-01-02"),
			Text: strings.Join(texts, " | ") + " visits=" + strconv.Itoa(n) + " rand=" + strconv.Itoa(actor.Rand().IntN(1000000)) +
				" gen=" + strconv.FormatBool(errors.Is(gerr, actor.ErrUnavailable)) + " page=" + pg.Title + strconv.FormatBool(perr == nil),
		}, nil
	})
	actor.Interpret(func(req *actor.Request) (string, error) { return "means " + req.Orientation, nil })
}

func TestSDKWrappersNatively(t *testing.T) {
	h := actortest.New()
	h.Passages = []actor.Passage{
		{ID: "a", CharacterID: "london-fox", SectionID: 2, Text: "a fox on the stairs"},
		{ID: "b", CharacterID: "london-fox", SectionID: 2, Text: "nothing here"},
		{ID: "c", CharacterID: "princhetta", SectionID: 8, Text: "another fox"},
	}
	h.Pages[7] = actor.NovelPage{Number: 7, Title: "Seven"}
	req := &actor.Request{EventID: "e1", SessionID: "s1", TSMillis: 1764806400000, CharacterID: "london-fox", SectionID: 2, Orientation: "E"}
	p, err := h.Page(req)
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "2025-12-04" || !strings.HasPrefix(p.Text, "a fox on the stairs | nothing here visits=1 rand=") || !strings.HasSuffix(p.Text, "gen=true page=Seventrue") {
		t.Fatalf("page %q %q", p.Title, p.Text)
	}
	p2, _ := h.Page(req)
	if !strings.Contains(p2.Text, "visits=2") || strings.Split(p2.Text, "rand=")[1] != strings.Split(p.Text, "rand=")[1] {
		t.Fatalf("second call %q (state should count, the same event should draw the same number)", p2.Text)
	}
	other := *req
	other.EventID = "e2"
	if p3, _ := h.Page(&other); strings.Split(p3.Text, "rand=")[1] == strings.Split(p.Text, "rand=")[1] {
		t.Errorf("another event drew the same number: %q", p3.Text)
	}
	if len(h.Logs()) != 3 {
		t.Errorf("logs %q", h.Logs())
	}
	fail := *req
	fail.Prompt = "fail"
	if _, err := h.Page(&fail); err == nil || err.Error() != "cannot write this page" {
		t.Fatalf("error from the voice: %v", err)
	}
	if m, err := h.Interpret(req); err != nil || m != "means E" {
		t.Fatalf("interpret %q %v", m, err)
	}
}
