package event

import "strconv"

// HeadersFor returns the x-* headers that describe an event: its type always, and the
// character, section, symbol, orientation and voice when the payload has them.
func HeadersFor(e Envelope) map[string]string {
	h := map[string]string{HeaderType: e.Type}
	p, err := e.DecodePayload()
	if err != nil {
		return h
	}
	set := func(k, v string) {
		if v != "" {
			h[k] = v
		}
	}
	sec := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	switch v := p.(type) {
	case *SymbolClick:
		set(HeaderCharacter, v.CharacterID)
		set(HeaderSection, sec(v.SectionID))
		set(HeaderSymbol, v.SymbolID)
		set(HeaderOrientation, v.Orientation)
	case *OrientationTurn:
		set(HeaderCharacter, v.CharacterID)
		set(HeaderSection, sec(v.SectionID))
		set(HeaderOrientation, v.Orientation)
	case *PageRequest:
		set(HeaderCharacter, v.CharacterID)
		set(HeaderSection, sec(v.SectionID))
		set(HeaderSymbol, v.SymbolID)
		set(HeaderOrientation, v.Orientation)
		set(HeaderVoice, v.Voice)
	case *PageDone:
		set(HeaderCharacter, v.CharacterID)
		set(HeaderSection, sec(v.SectionID))
		set(HeaderOrientation, v.Orientation)
		set(HeaderVoice, v.Voice)
	}
	return h
}
