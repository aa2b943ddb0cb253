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

// IsStopword reports whether the lower-case word w is too common to carry meaning.
func IsStopword(w string) bool { return stop[w] || shortStop[w] }

var shortStop = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the and but for not you are was who why how what does did has had her his its our she him they them this that with from into about tell is of to in on at by be do an a me my we it`) {
		shortStop[w] = true
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

// Names are the characters of the Gibsey corpus as the corpus names them, by id (the sample
// corpus in examples/corpus uses the same ids and names). Ids not listed are named by Name's
// title-casing.
var Names = map[string]string{
	"an-author":          "an author",
	"london-fox":         "London Fox",
	"glyph-marrow":       "Glyph Marrow",
	"phillip-bafflemint": "Phillip Bafflemint",
	"jacklyn-variance":   "Jacklyn Variance",
	"oren-progresso":     "Oren Progresso",
	"old-natalie":        "Old Natalie Weissman",
	"princhetta":         "Princhetta",
	"cop-e-right":        "Cop-E-Right",
	"new-natalie":        "New Natalie Weissman",
	"arieol-owlist":      "Arieol Owlist",
	"jack-parlance":      "Jack Parlance",
	"manny-valentinas":   "Manny Valentinas",
	"shamrock-stillman":  "Shamrock Stillman",
	"todd-fishbone":      "Todd Fishbone",
	"the-author":         "The Author",
}

// Name is the name of the character with the given id: the corpus's own name when known
// (london-fox → London Fox, cop-e-right → Cop-E-Right), else the id's words title-cased.
func Name(id string) string {
	id = strings.TrimSpace(id)
	if id == "" {
		return "Someone"
	}
	if n, ok := Names[id]; ok {
		return n
	}
	parts := strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '_' || r == ' ' })
	for i, p := range parts {
		r, size := utf8.DecodeRuneInString(p)
		parts[i] = string(unicode.ToUpper(r)) + p[size:]
	}
	if len(parts) == 0 {
		return "Someone"
	}
	return strings.Join(parts, " ")
}

// Possessive is name + "'s" (name + "'" when it ends in s).
func Possessive(name string) string {
	if strings.HasSuffix(name, "s") {
		return name + "'"
	}
	return name + "'s"
}

// Mentioned returns the id of the character that text names (by full name, by id, or by a
// first or last name only that character has), preferring the longest match, or "" when it
// names none of Names.
func Mentioned(text string) string {
	t := " " + normalize(text) + " "
	best, bestLen := "", 0
	consider := func(id, phrase string) {
		phrase = normalize(phrase)
		if len(phrase) > bestLen && strings.Contains(t, " "+phrase+" ") {
			best, bestLen = id, len(phrase)
		}
	}
	owners := map[string][]string{} // single name word → ids having it
	for _, id := range sortedIDs() {
		consider(id, Names[id])
		consider(id, strings.ReplaceAll(id, "-", " "))
		for _, w := range strings.Fields(normalize(Names[id])) {
			if len(w) >= 4 && !stop[w] && w != "author" {
				owners[w] = append(owners[w], id)
			}
		}
	}
	if best != "" {
		return best
	}
	for _, w := range strings.Fields(t) {
		if ids := owners[w]; len(ids) == 1 {
			return ids[0]
		}
	}
	return ""
}

func sortedIDs() []string {
	ids := make([]string, 0, len(Names))
	for id := range Names {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// normalize lower-cases s and turns everything but letters and digits into single spaces.
func normalize(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }), " ")
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
