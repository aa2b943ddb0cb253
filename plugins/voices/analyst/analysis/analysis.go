// Package analysis is the Analyst voice's logic in plain Go: it reads a generated page (the
// request's parent) and writes an analytical page about it, setting it against passages of the
// novel.
package analysis

import (
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/gibsey/gibsey/plugins/internal/prose"
	"github.com/gibsey/gibsey/sdk/actor"
)

// Query is what to retrieve the novel's passages with, for a parent page's text.
func Query(parentText string) string {
	return strings.Join(prose.Keywords([]string{parentText}, 4), " ")
}

var readings = map[string][]string{
	"N": {"a statement of fact that the rest of the page declines to test", "a thesis, stated flatly, as if the page were sure of itself"},
	"E": {"a promise the page spends the rest of its length trying to keep", "a forecast: everything after it is consequence"},
	"S": {"a denial dressed as a description", "the page's alibi, offered before anyone asked"},
	"W": {"an echo of something the novel said earlier, and louder", "a memory the page is not sure it owns"},
}

var verdicts = []string{
	"The new page repeats the novel in order to be allowed to change it.",
	"The new page knows more than it admits; the corpus admits more than it knows.",
	"The correspondence is not influence but weather: the same pressure, a different day.",
	"Conclusion withheld, pending another turn of the dial.",
}

// Page writes the analyst's page about req.ParentText, citing passages.
func Page(req *actor.Request, passages []actor.Passage, rng *rand.Rand) *actor.Response {
	parent := prose.Sentences(req.ParentText, 15)
	words := len(strings.Fields(req.ParentText))
	kw := prose.Keywords([]string{req.ParentText}, 3)
	o := req.Orientation
	if _, ok := readings[o]; !ok {
		o = "N"
	}
	name := prose.Name(req.CharacterID)
	var b strings.Builder
	b.WriteString("An analyst reads " + name + "'s page, with the dial facing " + prose.Direction(o) + ".")
	b.WriteString("\n\nThe page runs " + strconv.Itoa(len(parent)) + " sentences and " + strconv.Itoa(words) + " words.")
	if len(kw) > 0 {
		b.WriteString(" Its recurring terms are " + list(kw) + ".")
	}
	if len(parent) > 0 {
		first := prose.Clip(parent[0], 240)
		r := readings[o]
		b.WriteString("\n\nIts opening — “" + first + "” — reads as " + r[rng.IntN(len(r))] + ".")
	}
	var srcs []actor.Source
	if req.ParentPageID != "" {
		ex := ""
		if len(parent) > 0 {
			ex = prose.Clip(parent[0], 160)
		}
		srcs = append(srcs, actor.Source{PassageID: "page:" + req.ParentPageID, CharacterID: req.CharacterID, SectionID: req.SectionID, Excerpt: ex, Generated: req.ParentPageID})
	}
	cited := 0
	for _, p := range passages {
		ss := prose.Sentences(p.Text, 25)
		if len(ss) == 0 {
			continue
		}
		s := prose.Clip(best(ss, kw), 280)
		where := "the novel"
		if p.PageNumber > 0 {
			where = "page " + strconv.Itoa(p.PageNumber)
		}
		if cited == 0 {
			b.WriteString("\n\nAgainst the corpus: " + where + " says “" + s + "”")
		} else {
			b.WriteString("; and " + where + ", “" + s + "”")
		}
		srcs = append(srcs, actor.Source{PassageID: p.ID, PageNumber: p.PageNumber, CharacterID: p.CharacterID, SectionID: p.SectionID, Excerpt: prose.Clip(s, 160)})
		cited++
		if cited == 2 {
			break
		}
	}
	if cited > 0 {
		b.WriteString(".")
	}
	b.WriteString("\n\n" + verdicts[rng.IntN(len(verdicts))])
	t := "Analysis"
	if len(kw) > 0 {
		t += ": " + kw[0]
	}
	return &actor.Response{Title: t + " (" + name + ")", Text: b.String(), Sources: srcs, Generator: "compose"}
}

// best returns the first sentence sharing a keyword, else the first.
func best(ss, kw []string) string {
	for _, s := range ss {
		l := strings.ToLower(s)
		for _, k := range kw {
			if strings.Contains(l, k) {
				return s
			}
		}
	}
	return ss[0]
}

func list(ws []string) string {
	if len(ws) == 1 {
		return ws[0]
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " and " + ws[len(ws)-1]
}
