// Package prose holds the small text tools the built-in actors share: splitting passages into
// sentences, picking keywords, naming characters and orientations. Plain Go, no host calls.
package prose

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentences splits text into sentences (on . ! ? and blank lines), dropping markdown headings,
// and sentences shorter than min bytes. Each sentence is a verbatim substring of text (trimmed).
func Sentences(text string, min int) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		para = strings.TrimSpace(para)
		if para == "" || strings.HasPrefix(para, "#") || strings.HasPrefix(para, "---") {
			continue
		}
		start := 0
		for i := 0; i < len(para); i++ {
			c := para[i]
			if c != '.' && c != '!' && c != '?' {
				continue
			}
			end := i + 1
			for end < len(para) && (para[end] == '"' || para[end] == '\'' || para[end] == ')' || para[end] == '.') {
				end++
			}
			if end < len(para) && para[end] != ' ' {
				continue
			}
			out = appendSentence(out, para[start:end], min)
			start = end
			i = end - 1
		}
		out = appendSentence(out, para[start:], min)
	}
	return out
}

func appendSentence(out []string, s string, min int) []string {
	s = strings.TrimSpace(s)
	if len(s) < min || !utf8.ValidString(s) {
		return out
	}
	return append(out, s)
}

// Clip shortens s to at most n bytes at a word boundary, adding "…" when cut.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if i := strings.LastIndexByte(s[:cut], ' '); i > n/2 {
		cut = i
	}
	return strings.TrimRight(s[:cut], " ,;:") + "…"
}

var stop = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`about above after again against all also and another any are around because been before being below between both but could did does doing down during each even every from further going have having here herself himself into itself just like made make many more most much myself never nothing once only other ought ourselves over same should some something still such than that their theirs them themselves then there these they thing things this those through under until very was were what when where which while whom whose will with would your yours yourself said says upon toward towards without within perhaps really maybe always`) {
		stop[w] = true
	}
}

// Keywords returns up to n frequent content words (at least 5 letters, not stopwords) of the
// texts, most frequent first, ties alphabetical.
func Keywords(texts []string, n int) []string {
	count := map[string]int{}
	for _, t := range texts {
		for _, w := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' }) {
			w = strings.Trim(w, "'")
			if utf8.RuneCountInString(w) < 5 || stop[w] {
				continue
			}
			count[w]++
		}
	}
	words := make([]string, 0, len(count))
	for w := range count {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		if count[words[i]] != count[words[j]] {
			return count[words[i]] > count[words[j]]
		}
		return words[i] < words[j]
	})
	if len(words) > n {
		words = words[:n]
	}
	return words
}

// Name turns a character id (london-fox) into a name (London Fox).
func Name(id string) string {
	if id == "" {
		return "Someone"
	}
	parts := strings.Split(id, "-")
	for i, p := range parts {
		if p == "" {
			continue
		}
		r, size := utf8.DecodeRuneInString(p)
		if i > 0 && (p == "e" || p == "of" || p == "the") {
			continue
		}
		parts[i] = string(unicode.ToUpper(r)) + p[size:]
	}
	return strings.Join(parts, " ")
}

// Direction names an orientation (N, E, S, W).
func Direction(o string) string {
	switch o {
	case "N":
		return "North"
	case "E":
		return "East"
	case "S":
		return "South"
	case "W":
		return "West"
	}
	return "Nowhere"
}
