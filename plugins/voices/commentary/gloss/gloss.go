// Package gloss is the Commentary voice's logic in plain Go: marginal notes on a generated page
// (the request's parent), quoting its lines and answering each, with one passage of the novel
// set beside them.
package gloss

import (
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/gibsey/gibsey/plugins/internal/prose"
	"github.com/gibsey/gibsey/sdk/actor"
)

var remarks = []string{
	"a reader would underline this twice",
	"the margin disagrees, politely",
	"here the page almost admits it is a page",
	"note the word %s: it carries more than its share",
	"this is where %s enters, and does not leave",
	"a line the novel would have cut, and should not have",
}

// Query is what to retrieve the novel's passages with, for a parent page's text.
func Query(parentText string) string {
	return strings.Join(prose.Keywords([]string{parentText}, 3), " ")
}

// Page writes marginalia on req.ParentText, with one of passages set beside it.
func Page(req *actor.Request, passages []actor.Passage, rng *rand.Rand) *actor.Response {
	name := prose.Name(req.CharacterID)
	lines := prose.Sentences(req.ParentText, 15)
	kw := prose.Keywords([]string{req.ParentText}, 3)
	var b strings.Builder
	b.WriteString("Marginalia on " + name + "'s page, written with the dial facing " + prose.Direction(req.Orientation) + ".")
	n := len(lines)
	if n > 3 {
		n = 3
	}
	var srcs []actor.Source
	if req.ParentPageID != "" {
		ex := ""
		if len(lines) > 0 {
			ex = prose.Clip(lines[0], 160)
		}
		srcs = append(srcs, actor.Source{PassageID: "page:" + req.ParentPageID, CharacterID: req.CharacterID, SectionID: req.SectionID, Excerpt: ex, Generated: req.ParentPageID})
	}
	idx := rng.Perm(len(lines))
	if len(idx) > n {
		idx = idx[:n]
	}
	sortInts(idx) // the notes follow the page's order
	for i, li := range idx {
		r := remarks[rng.IntN(len(remarks))]
		k := "the page"
		if len(kw) > 0 {
			k = "“" + kw[i%len(kw)] + "”"
		}
		b.WriteString("\n\n" + strconv.Itoa(i+1) + ". “" + prose.Clip(lines[li], 200) + "” — " + strings.Replace(r, "%s", k, 1) + ".")
	}
	if len(lines) == 0 {
		b.WriteString("\n\nThe page left nothing to annotate, which is itself a kind of text.")
	}
	for _, p := range passages {
		ss := prose.Sentences(p.Text, 25)
		if len(ss) == 0 {
			continue
		}
		s := prose.Clip(ss[rng.IntN(len(ss))], 260)
		where := "the novel"
		if p.PageNumber > 0 {
			where = "page " + strconv.Itoa(p.PageNumber)
		}
		b.WriteString("\n\nBeside it, " + where + ": “" + s + "”")
		srcs = append(srcs, actor.Source{PassageID: p.ID, PageNumber: p.PageNumber, CharacterID: p.CharacterID, SectionID: p.SectionID, Excerpt: prose.Clip(s, 160)})
		break
	}
	title := "Marginalia"
	if len(lines) > 0 {
		title += ": " + prose.Clip(lines[0], 60)
	}
	return &actor.Response{Title: title, Text: b.String(), Sources: srcs, Generator: "compose"}
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
