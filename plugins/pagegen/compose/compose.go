// Package compose is the PageGenerator's composition, in plain Go: it builds a page from the
// passages retrieved for a request and the reader's recent pages, quoting them verbatim, in an
// order and framing that depend on the dial's orientation, with choices drawn from the event's
// seeded random source (so the same event always gives the same page).
package compose

import (
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/gibsey/gibsey/plugins/internal/prose"
	"github.com/gibsey/gibsey/sdk/actor"
)

// MaxQuoted is the most sentences a page quotes.
const MaxQuoted = 7

type quote struct {
	text string
	src  actor.Source
}

var openers = map[string][]string{
	"N": {"%s, facing North, reads the page as it stands.", "North: the text says what it says, and %s lets it."},
	"E": {"Facing East, %s leans into what comes next.", "East, where the page is still being written, %s reads ahead."},
	"S": {"Turned South, the page reads from its last line back to its first, and %s reads with it.", "South: %s holds the page upside down and it answers in reverse."},
	"W": {"Facing West, %s remembers.", "West, where the pages already turned are kept, %s looks back."},
}

var connectives = map[string][]string{
	"N": {"It is written:", "Plainly:", "The page says:", "And then:"},
	"E": {"Next:", "Further on:", "After that, inevitably:", "The page runs ahead:"},
	"S": {"Underneath:", "Before that, or after:", "Read backwards:", "From below:"},
	"W": {"Remembered:", "Earlier:", "It was said once:", "Still there:"},
}

var closers = map[string]string{
	"N": "The page holds still long enough to be read.",
	"E": "The next page is already leaning in.",
	"S": "Turned over, the page keeps its underside.",
	"W": "What was read stays read.",
}

// Page composes the page for req from passages (best first) and req.RecentPages.
func Page(req *actor.Request, passages []actor.Passage, rng *rand.Rand) *actor.Response {
	o := req.Orientation
	if _, ok := openers[o]; !ok {
		o = "N"
	}
	name := prose.Name(req.CharacterID)
	quotes := pick(o, req, passages, rng)

	var b strings.Builder
	b.WriteString(sprintf(openers[o][rng.IntN(len(openers[o]))], name))
	if req.Meaning != "" {
		b.WriteString(" The glyph means: " + strings.TrimSuffix(prose.Clip(req.Meaning, 240), ".") + ".")
	}
	if len(quotes) == 0 {
		b.WriteString("\n\nThe page is blank where the story should be; nothing of " + name + " has been written here yet.")
	}
	conn := connectives[o]
	for i, q := range quotes {
		if i%2 == 0 {
			b.WriteString("\n\n")
			b.WriteString(conn[rng.IntN(len(conn))])
			b.WriteString(" ")
		} else {
			b.WriteString(" ")
		}
		b.WriteString(q.text)
	}
	b.WriteString("\n\n" + closers[o])

	seen := map[string]bool{}
	var srcs []actor.Source
	var texts []string
	for _, q := range quotes {
		texts = append(texts, q.text)
		key := q.src.PassageID + q.src.Generated
		if seen[key] {
			continue
		}
		seen[key] = true
		srcs = append(srcs, q.src)
	}
	return &actor.Response{Title: title(req, name, o, texts, rng), Text: b.String(), Sources: srcs, Generator: "compose"}
}

func title(req *actor.Request, name, o string, texts []string, rng *rand.Rand) string {
	if req.Meaning != "" {
		m := req.Meaning
		if i := strings.IndexAny(m, ".;:—"); i > 8 {
			m = m[:i]
		}
		return prose.Clip(name+": "+m, 90)
	}
	kw := prose.Keywords(texts, 3)
	if len(kw) == 0 {
		return name + ", facing " + prose.Direction(o)
	}
	return name + ", facing " + prose.Direction(o) + ": " + kw[rng.IntN(len(kw))]
}

// pick chooses the quoted sentences: which passages, in what order, which of their sentences.
func pick(o string, req *actor.Request, passages []actor.Passage, rng *rand.Rand) []quote {
	ps := append([]actor.Passage(nil), passages...)
	switch o {
	case "E": // forward through the book
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].PageNumber < ps[j].PageNumber })
	case "S": // least expected first
		for i, j := 0, len(ps)-1; i < j; i, j = i+1, j-1 {
			ps[i], ps[j] = ps[j], ps[i]
		}
	case "W": // back through the book
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].PageNumber > ps[j].PageNumber })
	}
	var out []quote
	// West remembers the reader's own recent pages first.
	if o == "W" {
		for _, rp := range req.RecentPages {
			ss := prose.Sentences(rp.Text, 25)
			if len(ss) == 0 {
				continue
			}
			s := prose.Clip(ss[rng.IntN(len(ss))], 320)
			out = append(out, quote{s, actor.Source{PassageID: "page:" + rp.PageID, CharacterID: rp.CharacterID, SectionID: rp.SectionID, Excerpt: prose.Clip(s, 160), Generated: rp.PageID}})
			if len(out) == 2 {
				break
			}
		}
	}
	for _, p := range ps {
		ss := prose.Sentences(p.Text, 25)
		if len(ss) == 0 {
			continue
		}
		n := 1 + rng.IntN(2)
		if n > len(ss) {
			n = len(ss)
		}
		var chosen []string
		switch o {
		case "N": // from the start of the passage
			start := rng.IntN(min(2, len(ss)))
			chosen = take(ss, start, n)
		case "E": // from its end: what comes next
			start := len(ss) - n - rng.IntN(min(2, len(ss)-n+1))
			chosen = take(ss, start, n)
		case "S": // reversed
			start := rng.IntN(len(ss) - n + 1)
			chosen = take(ss, start, n)
			for i, j := 0, len(chosen)-1; i < j; i, j = i+1, j-1 {
				chosen[i], chosen[j] = chosen[j], chosen[i]
			}
		default: // W: anywhere, remembered out of order
			for _, i := range rng.Perm(len(ss))[:n] {
				chosen = append(chosen, ss[i])
			}
		}
		for _, s := range chosen {
			s = prose.Clip(s, 320)
			out = append(out, quote{s, actor.Source{PassageID: p.ID, PageNumber: p.PageNumber, CharacterID: p.CharacterID, SectionID: p.SectionID, Excerpt: prose.Clip(s, 160)}})
			if len(out) == MaxQuoted {
				return out
			}
		}
	}
	// A page of this cell quotes this cell: earlier pages of another cell only pad a thin page.
	if o != "W" && len(out) < 2 {
		for _, rp := range req.RecentPages {
			if rp.CharacterID != req.CharacterID {
				continue
			}
			if ss := prose.Sentences(rp.Text, 25); len(ss) > 0 {
				s := prose.Clip(ss[0], 320)
				out = append(out, quote{s, actor.Source{PassageID: "page:" + rp.PageID, CharacterID: rp.CharacterID, SectionID: rp.SectionID, Excerpt: prose.Clip(s, 160), Generated: rp.PageID}})
				break
			}
		}
	}
	return out
}

func take(ss []string, start, n int) []string {
	if start < 0 {
		start = 0
	}
	end := start + n
	if end > len(ss) {
		end = len(ss)
	}
	return append([]string(nil), ss[start:end]...)
}

// sprintf replaces the single %s of format (avoids fmt in the guest for one verb).
func sprintf(format, s string) string { return strings.Replace(format, "%s", s, 1) }

// Prompt is the prompt sent to a configured text generator (the generate host function).
func Prompt(req *actor.Request) string {
	var b strings.Builder
	b.WriteString("Write one short page (about 150 words) of the novel Gibsey in the voice of ")
	b.WriteString(prose.Name(req.CharacterID))
	b.WriteString(", with the reader's dial facing ")
	b.WriteString(prose.Direction(req.Orientation))
	b.WriteString(". Quote at least one sentence of the passages verbatim.")
	if req.Meaning != "" {
		b.WriteString(" The glyph means: " + req.Meaning)
	}
	if req.Prompt != "" {
		b.WriteString(" The reader asks: " + req.Prompt)
	}
	return b.String()
}
