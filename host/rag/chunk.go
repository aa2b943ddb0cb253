package rag

import (
	"fmt"
	"strings"

	"github.com/gibsey/gibsey/host/corpus"
	"github.com/gibsey/gibsey/host/store"
)

// Passage sizes in bytes: chunks aim for MinChunk..MaxChunk.
const (
	MinChunk = 300
	MaxChunk = 600
)

// Split cuts a page's text into passages of about MinChunk..MaxChunk bytes along paragraph
// boundaries (blank lines); a paragraph longer than MaxChunk is cut at sentence ends, or at
// spaces when a sentence is longer still. A passage shorter than MinChunk/2 joins its
// neighbour when the two stay readable. Every passage is an exact, trimmed substring of the
// text (after CRLF line ends become LF).
func Split(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var pieces []span
	for _, para := range paragraphs(text) {
		if para.len() <= MaxChunk {
			pieces = append(pieces, para)
			continue
		}
		pieces = append(pieces, splitLong(text, para)...)
	}
	// Group pieces into chunks of MinChunk..MaxChunk bytes.
	var chunks []span
	cur := span{-1, -1}
	for _, p := range pieces {
		if cur.start >= 0 && (cur.len() >= MinChunk || p.end-cur.start > MaxChunk) {
			chunks = append(chunks, cur)
			cur = span{-1, -1}
		}
		if cur.start < 0 {
			cur = p
		} else {
			cur.end = p.end
		}
	}
	if cur.start >= 0 {
		chunks = append(chunks, cur)
	}
	// Tiny chunks join a neighbour.
	var merged []span
	for _, c := range chunks {
		if n := len(merged); n > 0 {
			prev := merged[n-1]
			if (c.len() < MinChunk/2 || prev.len() < MinChunk/2) && c.end-prev.start <= MaxChunk+MinChunk/2 {
				merged[n-1].end = c.end
				continue
			}
		}
		merged = append(merged, c)
	}
	out := make([]string, len(merged))
	for i, c := range merged {
		out[i] = text[c.start:c.end]
	}
	return out
}

// span is a byte range [start, end) of a text.
type span struct{ start, end int }

func (s span) len() int { return s.end - s.start }

// trimmed shrinks s to exclude surrounding white space of text.
func trimmed(text string, s span) span {
	for s.start < s.end && isSpace(text[s.start]) {
		s.start++
	}
	for s.end > s.start && isSpace(text[s.end-1]) {
		s.end--
	}
	return s
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' }

// paragraphs returns the trimmed, non-empty spans of text between blank lines.
func paragraphs(text string) []span {
	var out []span
	start := 0
	add := func(end int) {
		if sp := trimmed(text, span{start, end}); sp.len() > 0 {
			out = append(out, sp)
		}
	}
	for i := 0; i < len(text); i++ {
		if text[i] != '\n' {
			continue
		}
		j := i + 1
		for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
			j++
		}
		if j < len(text) && text[j] == '\n' { // a blank line ends the paragraph
			add(i)
			start = j + 1
			i = j
		}
	}
	add(len(text))
	return out
}

// splitLong cuts one long paragraph at sentence ends (". ", "! ", "? ") into spans of at
// most MaxChunk bytes, or at spaces for an over-long sentence.
func splitLong(text string, para span) []span {
	var sentences []span
	start := para.start
	for i := para.start; i < para.end-1; i++ {
		if (text[i] == '.' || text[i] == '!' || text[i] == '?') && text[i+1] == ' ' {
			if sp := trimmed(text, span{start, i + 1}); sp.len() > 0 {
				sentences = append(sentences, sp)
			}
			start = i + 1
		}
	}
	if sp := trimmed(text, span{start, para.end}); sp.len() > 0 {
		sentences = append(sentences, sp)
	}
	var out []span
	cur := span{-1, -1}
	for _, s := range sentences {
		for s.len() > MaxChunk { // a run-on sentence: cut at the last space that fits
			cut := strings.LastIndexByte(text[s.start:s.start+MaxChunk], ' ')
			if cut <= 0 {
				cut = MaxChunk
				for cut > 0 && !isRuneStart(text[s.start+cut]) {
					cut--
				}
			}
			if cur.start >= 0 {
				out = append(out, cur)
				cur = span{-1, -1}
			}
			out = append(out, trimmed(text, span{s.start, s.start + cut}))
			s = trimmed(text, span{s.start + cut, s.end})
		}
		switch {
		case s.len() == 0:
		case cur.start < 0:
			cur = s
		case s.end-cur.start <= MaxChunk:
			cur.end = s.end
		default:
			out = append(out, cur)
			cur = s
		}
	}
	if cur.start >= 0 {
		out = append(out, cur)
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// PassageID is the id of the i-th passage (1-based) of a corpus page: "p<page>-<i>".
func PassageID(page, i int) string { return fmt.Sprintf("p%d-%d", page, i) }

// GeneratedID is the passage id of a generated page: "g:<page_id>".
func GeneratedID(pageID string) string { return "g:" + pageID }

// Passages splits every page of the corpus into passages (without embeddings), in page order.
func Passages(c *corpus.Corpus) []store.Passage {
	var out []store.Passage
	for _, p := range c.Pages() {
		for i, text := range Split(p.Text) {
			out = append(out, store.Passage{
				ID:          PassageID(p.Number, i+1),
				CharacterID: p.CharacterID,
				SectionID:   p.Section,
				PageNumber:  p.Number,
				Text:        text,
			})
		}
	}
	return out
}
