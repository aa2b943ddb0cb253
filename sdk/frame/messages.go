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
// allocation per field (repeated fields are appended to r.Symbols and r.RecentPages, reusing
// their capacity). msg must not change while r is in use.
//
// It is written for WebAssembly guests run with a deadline: wazero then checks the deadline
// at every loop header, and Go's wasm backend turns every taken jump (a loop iteration, a
// non-fallthrough branch, a switch case) into a pass through its function's entry loop, so
// each one costs a trip out to the host (tens of ns). The decoder is therefore one flat loop
// driven by a table (tag -> field kind and offset in Request) instead of a switch, with
// one- and two-byte varints decoded without a loop and no function call per field.
func DecodeRequestNoCopy(msg []byte, r *Request) error {
	if len(msg) < 2 || msg[0] != Magic || msg[1] != KindRequest {
		_, err := Body(msg, KindRequest)
		return err
	}
	b := msg[2:]
	n := len(b)
	base := unsafe.Pointer(r)
	for i := 0; i < n; {
		// The common path (one-byte tag and length, a string field) is the "then" of every
		// if, ending at the loop's back edge, so that the compiler lays it out as straight
		// fallthrough code: in Go's wasm output every taken jump passes through the
		// function's entry loop, and so through a deadline check. Everything else goes
		// through decodeField.
		if i+1 < n {
			if tag, l := uint64(b[i]), uint64(b[i+1]); tag|l < 0x80 {
				if l <= uint64(n-i-2) {
					f := &requestFields[tag]
					if f.kind == fieldString {
						*(*string)(unsafe.Add(base, f.off)) = aliasStr(b[i+2 : i+2+int(l)])
						i += 2 + int(l)
						continue
					}
					if f.kind == fieldSymbol {
						r.Symbols = append(r.Symbols, aliasStr(b[i+2:i+2+int(l)]))
						i += 2 + int(l)
						continue
					}
				}
			}
		}
		var ok bool
		if i, ok = r.decodeField(b, i); !ok {
			return errMalformedRequest
		}
	}
	return nil
}

// decodeField decodes the field at b[i:] in general (any varint, any kind) and returns the
// offset of the next one.
func (r *Request) decodeField(b []byte, i int) (int, bool) {
	tag, w := uint64(b[i]), 1
	if tag >= 0x80 {
		tag, w = Uvarint(b[i:])
	}
	if w == 0 || tag == 0 || tag > 1<<20 { // as Decoder.Next
		return 0, false
	}
	i += w
	if i >= len(b) {
		return 0, false
	}
	l := uint64(b[i])
	switch {
	case l < 0x80:
		w = 1
	case i+1 < len(b) && b[i+1] < 0x80:
		l, w = l&0x7f|uint64(b[i+1])<<7, 2
	default:
		l, w = Uvarint(b[i:])
	}
	if w == 0 || l > uint64(len(b)-i-w) {
		return 0, false
	}
	i += w
	v := b[i : i+int(l)]
	i += int(l)
	f := &requestFields[min(tag, 127)] // tags past the table are unknown: skipped
	switch f.kind {
	case fieldString:
		*(*string)(unsafe.Add(unsafe.Pointer(r), f.off)) = aliasStr(v)
	case fieldInt:
		x, ok := smallInt(v)
		if !ok {
			return 0, false
		}
		p := unsafe.Add(unsafe.Pointer(r), f.off)
		if f.size == 8 {
			*(*int64)(p) = x
		} else {
			*(*int)(p) = int(x)
		}
	case fieldSymbol:
		r.Symbols = append(r.Symbols, aliasStr(v))
	case fieldPageRef:
		r.RecentPages = append(r.RecentPages, PageRef{})
		if !decodePageRefNoCopy(v, &r.RecentPages[len(r.RecentPages)-1]) {
			return 0, false
		}
	}
	return i, true
}

// Kinds of request fields, for the decoding tables.
const (
	fieldSkip = iota
	fieldString
	fieldInt
	fieldSymbol
	fieldPageRef
)

type fieldInfo struct {
	kind uint8
	size uint8 // of an int field: 8 (int64) or the size of int
	off  uintptr
}

func strField(off uintptr) fieldInfo { return fieldInfo{kind: fieldString, off: off} }
func intField(off, size uintptr) fieldInfo {
	return fieldInfo{kind: fieldInt, size: uint8(size), off: off}
}

// requestFields maps a request tag (ABI.md 3.3) to its field of Request.
var requestFields = [128]fieldInfo{
	1:  strField(unsafe.Offsetof(Request{}.Kind)),
	2:  strField(unsafe.Offsetof(Request{}.EventID)),
	3:  strField(unsafe.Offsetof(Request{}.SessionID)),
	4:  intField(unsafe.Offsetof(Request{}.TSMillis), unsafe.Sizeof(Request{}.TSMillis)),
	5:  strField(unsafe.Offsetof(Request{}.Actor)),
	10: strField(unsafe.Offsetof(Request{}.RequestID)),
	11: strField(unsafe.Offsetof(Request{}.CauseEventID)),
	12: strField(unsafe.Offsetof(Request{}.CauseType)),
	13: strField(unsafe.Offsetof(Request{}.Voice)),
	14: strField(unsafe.Offsetof(Request{}.CharacterID)),
	15: intField(unsafe.Offsetof(Request{}.SectionID), unsafe.Sizeof(Request{}.SectionID)),
	16: strField(unsafe.Offsetof(Request{}.SymbolID)),
	17: strField(unsafe.Offsetof(Request{}.Orientation)),
	18: strField(unsafe.Offsetof(Request{}.Prompt)),
	19: {kind: fieldSymbol},
	20: strField(unsafe.Offsetof(Request{}.Meaning)),
	21: strField(unsafe.Offsetof(Request{}.ParentPageID)),
	22: strField(unsafe.Offsetof(Request{}.ParentText)),
	23: {kind: fieldPageRef},
	24: intField(unsafe.Offsetof(Request{}.Attempt), unsafe.Sizeof(Request{}.Attempt)),
}

// pageRefFields maps a PageRef tag to its field.
var pageRefFields = [128]fieldInfo{
	1: strField(unsafe.Offsetof(PageRef{}.PageID)),
	2: strField(unsafe.Offsetof(PageRef{}.CharacterID)),
	3: intField(unsafe.Offsetof(PageRef{}.SectionID), unsafe.Sizeof(PageRef{}.SectionID)),
	4: strField(unsafe.Offsetof(PageRef{}.Title)),
	5: strField(unsafe.Offsetof(PageRef{}.Text)),
}

// decodePageRefNoCopy decodes a PageRef record into p (strings share b), flat like
// DecodeRequestNoCopy.
func decodePageRefNoCopy(b []byte, p *PageRef) bool {
	n := len(b)
	base := unsafe.Pointer(p)
	for i := 0; i < n; {
		tag := uint64(b[i])
		if tag >= 0x80 {
			x, w := Uvarint(b[i:])
			if w == 0 || x > 1<<20 {
				return false
			}
			tag, i = min(x, 127), i+w-1
		}
		i++
		if i >= n || tag == 0 {
			return false
		}
		l := uint64(b[i])
		if l < 0x80 {
			i++
		} else {
			x, w := Uvarint(b[i:])
			if w == 0 {
				return false
			}
			l, i = x, i+w
		}
		if l > uint64(n-i) {
			return false
		}
		v := b[i : i+int(l)]
		i += int(l)
		f := &pageRefFields[tag&127]
		switch f.kind {
		case fieldString:
			*(*string)(unsafe.Add(base, f.off)) = aliasStr(v)
		case fieldInt:
			x, ok := smallInt(v)
			if !ok {
				return false
			}
			*(*int)(unsafe.Add(base, f.off)) = int(x)
		}
	}
	return true
}

var errMalformedRequest = errors.New("frame: request: malformed field")

func aliasStr(v []byte) string { return unsafe.String(unsafe.SliceData(v), len(v)) }

// smallInt decodes a zig-zag int value (a varint filling v exactly) without a loop when it is
// at most 8 bytes long, which covers every int of the ABI in practice (a millisecond
// timestamp takes 6): the bytes are loaded as one word, checked and compacted with shifts.
func smallInt(v []byte) (int64, bool) {
	n := len(v)
	if n == 0 || n > 8 {
		x, w := Uvarint(v)
		if w == 0 || w != n {
			return 0, false
		}
		return unzigzag(x), true
	}
	var a [8]byte
	copy(a[:], v)
	x := uint64(a[0]) | uint64(a[1])<<8 | uint64(a[2])<<16 | uint64(a[3])<<24 |
		uint64(a[4])<<32 | uint64(a[5])<<40 | uint64(a[6])<<48 | uint64(a[7])<<56
	// every byte but the last has its high bit set, the last has it clear
	want := uint64(0x8080808080808080) >> (64 - 8*uint(n-1)) // n-1 continuation bits (0 when n is 1)
	if x&(0x8080808080808080>>(64-8*uint(n))) != want {
		return 0, false
	}
	x &^= 0x8080808080808080
	u := x&0x7f | x>>1&(0x7f<<7) | x>>2&(0x7f<<14) | x>>3&(0x7f<<21) |
		x>>4&(0x7f<<28) | x>>5&(0x7f<<35) | x>>6&(0x7f<<42) | x>>7&(0x7f<<49)
	return unzigzag(u), true
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

// AppendResponse encodes r as a whole 'R' message appended to e. It makes room once and
// writes the common fields without a call per field (see DecodeRequestNoCopy for why that
// matters inside a guest).
func (e *Encoder) AppendResponse(r *Response) {
	need := 2 + len(r.Title) + len(r.Text) + len(r.Meaning) + len(r.Error) + len(r.Generator) + 5*6
	for i := range r.Sources {
		s := &r.Sources[i]
		need += 6*6 + 20 + len(s.PassageID) + len(s.CharacterID) + len(s.Excerpt) + len(s.Generated)
	}
	b := e.buf
	if cap(b)-len(b) < need {
		b = append(b[:cap(b)], make([]byte, need+len(b)-cap(b))...)[:len(b)]
	}
	b = append(b, Magic, KindResponse)
	if r.Title != "" {
		b = putString(b, 1, r.Title)
	}
	if r.Text != "" {
		b = putString(b, 2, r.Text)
	}
	e.buf = b
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
	b = e.buf
	if r.Meaning != "" {
		b = putString(b, 4, r.Meaning)
	}
	if r.Error != "" {
		b = putString(b, 5, r.Error)
	}
	if r.Generator != "" {
		b = putString(b, 6, r.Generator)
	}
	e.buf = b
}

// putString appends a string field with a one-byte tag, its length without a loop when it
// is under 16 KiB.
func putString(b []byte, tag byte, s string) []byte {
	switch n := len(s); {
	case n < 0x80:
		b = append(b, tag, byte(n))
	case n < 0x4000:
		b = append(b, tag, byte(n)|0x80, byte(n>>7))
	default:
		b = AppendUvarint(append(b, tag), uint64(n))
	}
	return append(b, s...)
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
