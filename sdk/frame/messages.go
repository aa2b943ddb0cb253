package frame

import (
	"errors"
	"unsafe"
)

// Request is what the host asks an actor (ABI.md 3.1). Its JSON names are those of the JSON
// request form.
type Request struct {
	Kind         string    `json:"kind"`
	EventID      string    `json:"event_id,omitempty"`
	SessionID    string    `json:"session_id,omitempty"`
	TSMillis     int64     `json:"ts_ms,omitempty"`
	Actor        string    `json:"actor,omitempty"`
	RequestID    string    `json:"request_id,omitempty"`
	CauseEventID string    `json:"cause_event_id,omitempty"`
	CauseType    string    `json:"cause_type,omitempty"`
	Voice        string    `json:"voice,omitempty"`
	CharacterID  string    `json:"character_id,omitempty"`
	SectionID    int       `json:"section_id,omitempty"`
	SymbolID     string    `json:"symbol_id,omitempty"`
	Orientation  string    `json:"orientation,omitempty"`
	Prompt       string    `json:"prompt,omitempty"`
	Symbols      []string  `json:"symbols,omitempty"`
	Meaning      string    `json:"meaning,omitempty"`
	ParentPageID string    `json:"parent_page_id,omitempty"`
	ParentText   string    `json:"parent_text,omitempty"`
	RecentPages  []PageRef `json:"recent_pages,omitempty"`
	Attempt      int       `json:"attempt,omitempty"`
}

// PageRef is an earlier page of the session.
type PageRef struct {
	PageID      string `json:"page_id,omitempty"`
	CharacterID string `json:"character_id,omitempty"`
	SectionID   int    `json:"section_id,omitempty"`
	Title       string `json:"title,omitempty"`
	Text        string `json:"text,omitempty"`
}

// Response is an actor's answer (ABI.md 3.2).
type Response struct {
	Title     string   `json:"title,omitempty"`
	Text      string   `json:"text,omitempty"`
	Sources   []Source `json:"sources,omitempty"`
	Meaning   string   `json:"meaning,omitempty"`
	Error     string   `json:"error,omitempty"`
	Generator string   `json:"generator,omitempty"`
}

// Source is a passage a page drew on.
type Source struct {
	PassageID   string `json:"passage_id,omitempty"`
	PageNumber  int    `json:"page_number,omitempty"`
	CharacterID string `json:"character_id,omitempty"`
	SectionID   int    `json:"section_id,omitempty"`
	Excerpt     string `json:"excerpt,omitempty"`
	Generated   string `json:"generated,omitempty"`
}

// Passage is a unit of the RAG index, as the retrieve host function returns it.
type Passage struct {
	ID          string  `json:"id"`
	CharacterID string  `json:"character_id"`
	SectionID   int     `json:"section_id"`
	PageNumber  int     `json:"page_number"`
	Text        string  `json:"text"`
	Score       float32 `json:"score,omitempty"`
}

// RetrieveQuery is the input of the retrieve host function.
type RetrieveQuery struct {
	Query       string
	CharacterID string
	SectionID   int
	K           int
}

// CorpusPage is a page of the novel, as the corpus_page host function returns it.
type CorpusPage struct {
	Number      int    `json:"number"`
	CharacterID string `json:"character_id"`
	SectionID   int    `json:"section_id"`
	Title       string `json:"title"`
	Text        string `json:"text"`
}

// GenerateRequest is the input of the generate host function.
type GenerateRequest struct {
	Prompt   string
	Passages []Passage
}

// AppendRequest encodes r as a whole 'Q' message appended to e.
func (e *Encoder) AppendRequest(r *Request) {
	e.Message(KindRequest)
	e.String(1, r.Kind)
	e.String(2, r.EventID)
	e.String(3, r.SessionID)
	e.Int(4, r.TSMillis)
	e.String(5, r.Actor)
	e.String(10, r.RequestID)
	e.String(11, r.CauseEventID)
	e.String(12, r.CauseType)
	e.String(13, r.Voice)
	e.String(14, r.CharacterID)
	e.Int(15, int64(r.SectionID))
	e.String(16, r.SymbolID)
	e.String(17, r.Orientation)
	e.String(18, r.Prompt)
	for _, s := range r.Symbols {
		e.StringAlways(19, s)
	}
	e.String(20, r.Meaning)
	e.String(21, r.ParentPageID)
	e.String(22, r.ParentText)
	for i := range r.RecentPages {
		p := &r.RecentPages[i]
		m := e.Begin(23)
		e.String(1, p.PageID)
		e.String(2, p.CharacterID)
		e.Int(3, int64(p.SectionID))
		e.String(4, p.Title)
		e.String(5, p.Text)
		e.End(m)
	}
	e.Int(24, int64(r.Attempt))
}

// DecodeRequest decodes a whole 'Q' message (the strings are copies).
func DecodeRequest(msg []byte, r *Request) error { return decodeRequest(msg, r, false) }

// DecodeRequestNoCopy decodes a whole 'Q' message whose strings share msg's memory: no
// allocation per field, and no function call per field either (inside a wasm guest run with a
// deadline, every call and loop iteration costs a check, so this is written flat). msg must
// never change afterwards.
func DecodeRequestNoCopy(msg []byte, r *Request) error {
	if len(msg) < 2 || msg[0] != Magic || msg[1] != KindRequest {
		_, err := Body(msg, KindRequest)
		return err
	}
	b := msg[2:]
	n := len(b)
	i := 0
	for i < n {
		// tag and length: one or two bytes each in practice; longer ones take the slow path
		var tag, l uint64
		if c := b[i]; c < 0x80 {
			tag, i = uint64(c), i+1
		} else {
			x, w := Uvarint(b[i:])
			if w == 0 {
				return errMalformedRequest
			}
			tag, i = x, i+w
		}
		if i >= n {
			return errMalformedRequest
		}
		if c := b[i]; c < 0x80 {
			l, i = uint64(c), i+1
		} else if i+1 < n && b[i+1] < 0x80 {
			l, i = uint64(c&0x7f)|uint64(b[i+1])<<7, i+2
		} else {
			x, w := Uvarint(b[i:])
			if w == 0 {
				return errMalformedRequest
			}
			l, i = x, i+w
		}
		if l > uint64(n-i) {
			return errMalformedRequest
		}
		v := b[i : i+int(l)]
		i += int(l)
		switch tag {
		case 1:
			r.Kind = aliasStr(v)
		case 2:
			r.EventID = aliasStr(v)
		case 3:
			r.SessionID = aliasStr(v)
		case 4:
			x, ok := smallInt(v)
			if !ok {
				return errMalformedRequest
			}
			r.TSMillis = x
		case 5:
			r.Actor = aliasStr(v)
		case 10:
			r.RequestID = aliasStr(v)
		case 11:
			r.CauseEventID = aliasStr(v)
		case 12:
			r.CauseType = aliasStr(v)
		case 13:
			r.Voice = aliasStr(v)
		case 14:
			r.CharacterID = aliasStr(v)
		case 15:
			x, ok := smallInt(v)
			if !ok {
				return errMalformedRequest
			}
			r.SectionID = int(x)
		case 16:
			r.SymbolID = aliasStr(v)
		case 17:
			r.Orientation = aliasStr(v)
		case 18:
			r.Prompt = aliasStr(v)
		case 19:
			r.Symbols = append(r.Symbols, aliasStr(v))
		case 20:
			r.Meaning = aliasStr(v)
		case 21:
			r.ParentPageID = aliasStr(v)
		case 22:
			r.ParentText = aliasStr(v)
		case 23:
			p, err := decodePageRef(v, true)
			if err != nil {
				return err
			}
			r.RecentPages = append(r.RecentPages, p)
		case 24:
			x, ok := smallInt(v)
			if !ok {
				return errMalformedRequest
			}
			r.Attempt = int(x)
		}
	}
	return nil
}

var errMalformedRequest = errors.New("frame: request: malformed field")

func aliasStr(v []byte) string { return unsafe.String(unsafe.SliceData(v), len(v)) }

// smallInt decodes a zig-zag int value without a loop when it is short (always, in practice).
func smallInt(v []byte) (int64, bool) {
	var u uint64
	switch {
	case len(v) == 1 && v[0] < 0x80:
		u = uint64(v[0])
	case len(v) == 2 && v[0] >= 0x80 && v[1] < 0x80:
		u = uint64(v[0]&0x7f) | uint64(v[1])<<7
	default:
		x, w := Uvarint(v)
		if w == 0 || w != len(v) {
			return 0, false
		}
		u = x
	}
	return int64(u>>1) ^ -int64(u&1), true
}

func decodePageRef(v []byte, alias bool) (PageRef, error) {
	var p PageRef
	pd := NewDecoder(v)
	for {
		t, pv, ok := pd.Next()
		if !ok {
			break
		}
		switch t {
		case 1:
			p.PageID = str(pv, alias)
		case 2:
			p.CharacterID = str(pv, alias)
		case 3:
			p.SectionID = int(pd.Int(pv))
		case 4:
			p.Title = str(pv, alias)
		case 5:
			p.Text = str(pv, alias)
		}
	}
	if pd.Err() != nil {
		return p, errors.New("frame: request: malformed recent_pages record")
	}
	return p, nil
}

func str(b []byte, alias bool) string {
	if alias && len(b) > 0 {
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}

func decodeRequest(msg []byte, r *Request, alias bool) error { // alias: see DecodeRequestNoCopy
	body, err := Body(msg, KindRequest)
	if err != nil {
		return err
	}
	d := NewDecoder(body)
	for {
		tag, v, ok := d.Next()
		if !ok {
			break
		}
		switch tag {
		case 1:
			r.Kind = str(v, alias)
		case 2:
			r.EventID = str(v, alias)
		case 3:
			r.SessionID = str(v, alias)
		case 4:
			r.TSMillis = d.Int(v)
		case 5:
			r.Actor = str(v, alias)
		case 10:
			r.RequestID = str(v, alias)
		case 11:
			r.CauseEventID = str(v, alias)
		case 12:
			r.CauseType = str(v, alias)
		case 13:
			r.Voice = str(v, alias)
		case 14:
			r.CharacterID = str(v, alias)
		case 15:
			r.SectionID = int(d.Int(v))
		case 16:
			r.SymbolID = str(v, alias)
		case 17:
			r.Orientation = str(v, alias)
		case 18:
			r.Prompt = str(v, alias)
		case 19:
			r.Symbols = append(r.Symbols, str(v, alias))
		case 20:
			r.Meaning = str(v, alias)
		case 21:
			r.ParentPageID = str(v, alias)
		case 22:
			r.ParentText = str(v, alias)
		case 23:
			p, err := decodePageRef(v, alias)
			if err != nil {
				return err
			}
			r.RecentPages = append(r.RecentPages, p)
		case 24:
			r.Attempt = int(d.Int(v))
		}
	}
	if d.Err() != nil {
		return errors.New("frame: request: malformed field")
	}
	return nil
}

// AppendResponse encodes r as a whole 'R' message appended to e.
func (e *Encoder) AppendResponse(r *Response) {
	e.Message(KindResponse)
	e.String(1, r.Title)
	e.String(2, r.Text)
	for i := range r.Sources {
		s := &r.Sources[i]
		m := e.Begin(3)
		e.String(1, s.PassageID)
		e.Int(2, int64(s.PageNumber))
		e.String(3, s.CharacterID)
		e.Int(4, int64(s.SectionID))
		e.String(5, s.Excerpt)
		e.String(6, s.Generated)
		e.End(m)
	}
	e.String(4, r.Meaning)
	e.String(5, r.Error)
	e.String(6, r.Generator)
}

// DecodeResponse decodes a whole 'R' message.
func DecodeResponse(msg []byte, r *Response) error {
	body, err := Body(msg, KindResponse)
	if err != nil {
		return err
	}
	d := NewDecoder(body)
	for {
		tag, v, ok := d.Next()
		if !ok {
			break
		}
		switch tag {
		case 1:
			r.Title = string(v)
		case 2:
			r.Text = string(v)
		case 3:
			var s Source
			sd := NewDecoder(v)
			for {
				t, sv, ok := sd.Next()
				if !ok {
					break
				}
				switch t {
				case 1:
					s.PassageID = string(sv)
				case 2:
					s.PageNumber = int(sd.Int(sv))
				case 3:
					s.CharacterID = string(sv)
				case 4:
					s.SectionID = int(sd.Int(sv))
				case 5:
					s.Excerpt = string(sv)
				case 6:
					s.Generated = string(sv)
				}
			}
			if sd.Err() != nil {
				return errors.New("frame: response: malformed sources record")
			}
			r.Sources = append(r.Sources, s)
		case 4:
			r.Meaning = string(v)
		case 5:
			r.Error = string(v)
		case 6:
			r.Generator = string(v)
		}
	}
	if d.Err() != nil {
		return errors.New("frame: response: malformed field")
	}
	return nil
}

// AppendRetrieveQuery encodes a retrieve query body.
func (e *Encoder) AppendRetrieveQuery(q *RetrieveQuery) {
	e.String(1, q.Query)
	e.String(2, q.CharacterID)
	e.Int(3, int64(q.SectionID))
	e.Int(4, int64(q.K))
}

// DecodeRetrieveQuery decodes a retrieve query body.
func DecodeRetrieveQuery(body []byte, q *RetrieveQuery) error {
	d := NewDecoder(body)
	for {
		tag, v, ok := d.Next()
		if !ok {
			break
		}
		switch tag {
		case 1:
			q.Query = string(v)
		case 2:
			q.CharacterID = string(v)
		case 3:
			q.SectionID = int(d.Int(v))
		case 4:
			q.K = int(d.Int(v))
		}
	}
	return d.Err()
}

// AppendPassage appends p as a record field with the given tag.
func (e *Encoder) AppendPassage(tag int, p *Passage) {
	m := e.Begin(tag)
	e.String(1, p.ID)
	e.String(2, p.CharacterID)
	e.Int(3, int64(p.SectionID))
	e.Int(4, int64(p.PageNumber))
	e.String(5, p.Text)
	e.F32(6, p.Score)
	e.End(m)
}

// DecodePassage decodes a passage record.
func DecodePassage(rec []byte, p *Passage) error {
	d := NewDecoder(rec)
	for {
		tag, v, ok := d.Next()
		if !ok {
			break
		}
		switch tag {
		case 1:
			p.ID = string(v)
		case 2:
			p.CharacterID = string(v)
		case 3:
			p.SectionID = int(d.Int(v))
		case 4:
			p.PageNumber = int(d.Int(v))
		case 5:
			p.Text = string(v)
		case 6:
			p.Score = d.F32(v)
		}
	}
	return d.Err()
}

// AppendPassages encodes a retrieve result body (repeated tag 1 passages).
func (e *Encoder) AppendPassages(ps []Passage) {
	for i := range ps {
		e.AppendPassage(1, &ps[i])
	}
}

// DecodePassages decodes a retrieve result body.
func DecodePassages(body []byte) ([]Passage, error) {
	var out []Passage
	d := NewDecoder(body)
	for {
		tag, v, ok := d.Next()
		if !ok {
			break
		}
		if tag == 1 {
			var p Passage
			if err := DecodePassage(v, &p); err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, d.Err()
}

// AppendCorpusPage encodes a corpus_page result body.
func (e *Encoder) AppendCorpusPage(p *CorpusPage) {
	e.Int(1, int64(p.Number))
	e.String(2, p.CharacterID)
	e.Int(3, int64(p.SectionID))
	e.String(4, p.Title)
	e.String(5, p.Text)
}

// DecodeCorpusPage decodes a corpus_page result body.
func DecodeCorpusPage(body []byte, p *CorpusPage) error {
	d := NewDecoder(body)
	for {
		tag, v, ok := d.Next()
		if !ok {
			break
		}
		switch tag {
		case 1:
			p.Number = int(d.Int(v))
		case 2:
			p.CharacterID = string(v)
		case 3:
			p.SectionID = int(d.Int(v))
		case 4:
			p.Title = string(v)
		case 5:
			p.Text = string(v)
		}
	}
	return d.Err()
}

// AppendGenerateRequest encodes a generate request body.
func (e *Encoder) AppendGenerateRequest(g *GenerateRequest) {
	e.String(1, g.Prompt)
	for i := range g.Passages {
		e.AppendPassage(2, &g.Passages[i])
	}
}

// DecodeGenerateRequest decodes a generate request body.
func DecodeGenerateRequest(body []byte, g *GenerateRequest) error {
	d := NewDecoder(body)
	for {
		tag, v, ok := d.Next()
		if !ok {
			break
		}
		switch tag {
		case 1:
			g.Prompt = string(v)
		case 2:
			var p Passage
			if err := DecodePassage(v, &p); err != nil {
				return err
			}
			g.Passages = append(g.Passages, p)
		}
	}
	return d.Err()
}
