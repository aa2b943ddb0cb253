// Package meaning is the SymbolInterpreter's logic in plain Go: what a character's glyph means
// when the dial faces an orientation, grounded in the words of that character's passages.
package meaning

import (
	"strings"

	"github.com/gibsey/gibsey/plugins/internal/prose"
	"github.com/gibsey/gibsey/sdk/actor"
)

// Glosses are what each orientation does to a glyph.
var Glosses = map[string]string{
	"N": "the text as it stands: the surface, the self it declares",
	"E": "what the text is becoming: its next move, its appetite",
	"S": "the text turned over: its underside, what it refuses to say",
	"W": "the text remembering: its debts, what came before it",
}

// Of says what req's symbol means in req's orientation, drawing motifs from passages.
func Of(req *actor.Request, passages []actor.Passage) string {
	o := req.Orientation
	gloss, ok := Glosses[o]
	if !ok {
		o, gloss = "N", Glosses["N"]
	}
	var texts []string
	for _, p := range passages {
		texts = append(texts, p.Text)
	}
	kw := prose.Keywords(texts, 3)
	// the glyph is the character's: name the character as the corpus does (a symbol id such as
	// "S2 LF" is no name), falling back to the symbol only when the request names no character
	who := req.CharacterID
	if who == "" {
		who = req.SymbolID
	}
	var b strings.Builder
	b.WriteString(prose.Name(who))
	b.WriteString(" facing ")
	b.WriteString(prose.Direction(o))
	b.WriteString(" — ")
	b.WriteString(gloss)
	if len(kw) > 0 {
		b.WriteString("; here it turns on ")
		switch o {
		case "S": // read from the least to the most insistent
			for i, j := 0, len(kw)-1; i < j; i, j = i+1, j-1 {
				kw[i], kw[j] = kw[j], kw[i]
			}
		}
		if len(kw) == 1 {
			b.WriteString(kw[0])
		} else {
			b.WriteString(strings.Join(kw[:len(kw)-1], ", ") + " and " + kw[len(kw)-1])
		}
	}
	b.WriteString(".")
	return b.String()
}
