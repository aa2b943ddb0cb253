// Package compose is the PageGenerator's composition, in plain Go: it builds a page from the
// passages retrieved for a request and the reader's recent pages, quoting them verbatim, in an
// order and framing that depend on the dial's orientation, with choices drawn from the event's
// seeded random source (so the same event always gives the same page).
package compose

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"unicode"

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
	if IsAsk(req) {
		return Answer(req, passages)
	}
	name := prose.Name(req.CharacterID)
	quotes := pick(o, req, Usable(req, passages), rng)

	var b strings.Builder
	b.WriteString(sprintf(openers[o][rng.IntN(len(openers[o]))], name))
	if req.Meaning != "" {
		b.WriteString(" The glyph means: " + strings.TrimSuffix(prose.Clip(req.Meaning, 240), ".") + ".")
	}
	if len(quotes) == 0 {
		b.WriteString("\n\nThe page is blank where the story should be; nothing of " + name + " has been written here yet.")
	}
	conn := connectives[o]
	i := 0
	for _, q := range quotes {
		if q.src.Generated != "" { // a page the reader already read, framed as such
			b.WriteString("\n\nFrom a page you read earlier: \u201c" + q.text + "\u201d")
			continue
		}
		if i%2 == 0 {
			b.WriteString("\n\n")
			b.WriteString(conn[rng.IntN(len(conn))])
			b.WriteString(" ")
		} else {
			b.WriteString(" ")
		}
		b.WriteString(q.text)
		i++
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
	return &actor.Response{Title: strings.TrimSpace(title(req, name, o, texts, rng)), Text: b.String(), Sources: srcs, Generator: "compose"}
}

func title(req *actor.Request, name, o string, texts []string, rng *rand.Rand) string {
	if m := meaningPhrase(req.Meaning); m != "" {
		return prose.Clip(name+", facing "+prose.Direction(o)+": "+m, 90)
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
	// West remembers: one sentence (no more) of a page the reader already read.
	if o == "W" {
		if q, ok := remembered(req, ps, rng); ok {
			out = append(out, q)
		}
	}
	for _, p := range ps {
		if generated(p) {
			continue
		}
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
	return out
}

// IsAsk reports whether req is the reader's question (an ask) rather than a turn of the dial.
func IsAsk(req *actor.Request) bool { return strings.TrimSpace(req.Prompt) != "" }

// generated reports whether p is one of the session's generated pages rather than the novel's.
func generated(p actor.Passage) bool { return p.PageNumber == 0 || strings.HasPrefix(p.ID, "g:") }

// Usable are the passages a page of req may quote: the novel's own passages, plus, facing West
// (where the pages already read are the point), the session's generated pages, which the page
// quotes at most one sentence of, framed as a page read earlier.
func Usable(req *actor.Request, passages []actor.Passage) []actor.Passage {
	var out []actor.Passage
	for _, p := range passages {
		if !generated(p) || (req.Orientation == "W" && !IsAsk(req)) {
			out = append(out, p)
		}
	}
	return out
}

// templates are the phrases the composer itself writes; a sentence holding one is never quoted
// back from a generated page.
var templates []string

func init() {
	add := func(s string) {
		if s = strings.TrimSpace(s); len(s) >= 6 {
			templates = append(templates, s)
		}
	}
	for _, o := range []string{"N", "E", "S", "W"} {
		for _, f := range openers[o] {
			for _, part := range strings.Split(f, "%s") {
				add(part)
			}
		}
		for _, c := range connectives[o] {
			add(c)
		}
		add(closers[o])
	}
	for _, s := range []string{"The glyph means", "You asked", "From a page you read earlier", "The book answers", "No page of the book", "The page is blank", "facing North", "facing East", "facing South", "facing West"} {
		add(s)
	}
}

func isTemplate(s string) bool {
	if rest, ok := strings.CutPrefix(s, "Page "); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return true // an answer page's "Page 40, London Fox: …" label
	}
	for _, t := range templates {
		if strings.Contains(s, t) {
			return true
		}
	}
	return false
}

// remembered is the one sentence a West page quotes from the pages the reader already read: the
// best-ranked generated passage, else the most recent page, skipping the composer's own phrases.
func remembered(req *actor.Request, ps []actor.Passage, rng *rand.Rand) (quote, bool) {
	type cand struct {
		text string
		src  actor.Source
	}
	var cands []cand
	for _, p := range ps {
		if generated(p) {
			id := strings.TrimPrefix(p.ID, "g:")
			cands = append(cands, cand{p.Text, actor.Source{PassageID: p.ID, CharacterID: p.CharacterID, SectionID: p.SectionID, Generated: id}})
		}
	}
	for _, rp := range req.RecentPages {
		cands = append(cands, cand{rp.Text, actor.Source{PassageID: "page:" + rp.PageID, CharacterID: rp.CharacterID, SectionID: rp.SectionID, Generated: rp.PageID}})
	}
	for _, c := range cands {
		var ss []string
		for _, s := range prose.Sentences(c.text, 25) {
			if !isTemplate(s) && !strings.ContainsAny(s, "\u201c\u201d") {
				ss = append(ss, s)
			}
		}
		if len(ss) == 0 {
			continue
		}
		s := prose.Clip(ss[rng.IntN(len(ss))], 240)
		c.src.Excerpt = prose.Clip(s, 160)
		return quote{s, c.src}, true
	}
	return quote{}, false
}

// meaningPhrase is the short phrase of a symbol's meaning that a title uses: the gloss after
// the "Name facing Direction — " lead, up to its first clause break.
func meaningPhrase(m string) string {
	m = strings.TrimSpace(m)
	if i := strings.Index(m, "\u2014"); i >= 0 {
		m = strings.TrimSpace(m[i+len("\u2014"):])
	}
	if i := strings.IndexAny(m, ".;:"); i > 0 {
		m = m[:i]
	}
	return strings.TrimSpace(m)
}

// Question is req's prompt on one line, clipped to a readable length.
func Question(req *actor.Request) string {
	return prose.Clip(strings.Join(strings.Fields(req.Prompt), " "), 300)
}

// AskTitle is the title of the answer page to req's question.
func AskTitle(req *actor.Request) string {
	return strings.TrimSpace(prose.Clip("You asked: "+Question(req), 90))
}

// AskOpening is how an answer page opens: the reader's question, quoted as plain text.
func AskOpening(req *actor.Request) string { return "You asked: \"" + Question(req) + "\"" }

// MaxAnswerQuotes is the most sentences an answer page quotes.
const MaxAnswerQuotes = 6

// Answer composes the page answering the reader's question (req.Prompt) from the passages
// retrieved for it: it opens with the question, then quotes the sentences of the novel's
// passages that share most words with it, those of the character the question names first.
// Generated pages are never quoted as answers. Sources are the passages quoted.
func Answer(req *actor.Request, passages []actor.Passage) *actor.Response {
	named := prose.Mentioned(req.Prompt)
	focus := named // the character the question is about: the one it names, else the page's
	if focus == "" {
		focus = req.CharacterID
	}
	var ps []actor.Passage
	for _, p := range passages {
		if !generated(p) {
			ps = append(ps, p)
		}
	}
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(req.Prompt), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) >= 3 && !prose.IsStopword(w) {
			words[strings.TrimSuffix(w, "s")] = true
		}
	}
	score := func(s string) int {
		n := 0
		for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if words[strings.TrimSuffix(w, "s")] {
				n++
			}
		}
		return n
	}

	// Order: the focus character's passages that share words with the question, then the
	// others that do, then the focus character's other passages; the rest are dropped (unless
	// nothing shares a word). The focus's best passage is always among the first three quoted.
	best := func(p actor.Passage) int {
		n := 0
		for _, s := range prose.Sentences(p.Text, 25) {
			n = max(n, score(s))
		}
		return n
	}
	tier := func(p actor.Passage) int {
		on, hit := p.CharacterID == focus, best(p) > 0
		switch {
		case on && hit:
			return 0
		case hit:
			return 1
		case on:
			return 2
		}
		return 3
	}
	sort.SliceStable(ps, func(i, j int) bool { return tier(ps[i]) < tier(ps[j]) })
	if len(ps) > 0 && tier(ps[0]) < 3 {
		n := 0
		for n < len(ps) && tier(ps[n]) < 3 {
			n++
		}
		ps = ps[:n]
	}
	for i, p := range ps {
		if p.CharacterID == focus {
			if i > 2 {
				ps = append(append(append([]actor.Passage{}, ps[:2]...), p), append(ps[2:i:i], ps[i+1:]...)...)
			}
			break
		}
	}

	var b strings.Builder
	b.WriteString(AskOpening(req))
	var srcs []actor.Source
	quoted := 0
	for _, p := range ps {
		if quoted == MaxAnswerQuotes {
			break
		}
		ss := prose.Sentences(p.Text, 25)
		if len(ss) == 0 {
			continue
		}
		// the two sentences that share most words with the question, kept in the page's order
		idx := make([]int, len(ss))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, c int) bool { return score(ss[idx[a]]) > score(ss[idx[c]]) })
		idx = idx[:min(2, len(idx), MaxAnswerQuotes-quoted)]
		sort.Ints(idx)
		if len(srcs) == 0 {
			if named != "" && p.CharacterID == named {
				b.WriteString("\n\nThe book answers from " + prose.Possessive(prose.Name(named)) + " own pages.")
			} else {
				b.WriteString("\n\nThe book answers from the pages nearest the question.")
			}
		}
		var chosen []string
		for _, i := range idx {
			chosen = append(chosen, prose.Clip(ss[i], 320))
		}
		b.WriteString("\n\n")
		if p.PageNumber > 0 {
			b.WriteString("Page " + strconv.Itoa(p.PageNumber) + ", " + prose.Name(p.CharacterID) + ": ")
		}
		b.WriteString(strings.Join(chosen, " "))
		quoted += len(chosen)
		srcs = append(srcs, actor.Source{PassageID: p.ID, PageNumber: p.PageNumber, CharacterID: p.CharacterID, SectionID: p.SectionID, Excerpt: prose.Clip(chosen[0], 160)})
	}
	if len(srcs) == 0 {
		b.WriteString("\n\nNo page of the book answers that yet. Ask about one of its characters by name, or turn the dial and read on.")
	}
	return &actor.Response{Title: AskTitle(req), Text: b.String(), Sources: srcs, Generator: "compose"}
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
	if IsAsk(req) {
		b.WriteString("Answer the reader's question about the novel Gibsey in one short page (about 150 words), from the passages only, quoting at least one sentence of them verbatim.")
		if named := prose.Mentioned(req.Prompt); named != "" {
			b.WriteString(" The question is about " + prose.Name(named) + ".")
		}
		b.WriteString(" The reader asks: " + Question(req))
		return b.String()
	}
	b.WriteString("Write one short page (about 150 words) of the novel Gibsey in the voice of ")
	b.WriteString(prose.Name(req.CharacterID))
	b.WriteString(", with the reader's dial facing ")
	b.WriteString(prose.Direction(req.Orientation))
	b.WriteString(". Quote at least one sentence of the passages verbatim.")
	if req.Meaning != "" {
		b.WriteString(" The glyph means: " + req.Meaning)
	}
	return b.String()
}
