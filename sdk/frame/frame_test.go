package frame

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func sampleRequest() Request {
	return Request{
		Kind: "page", EventID: "e", SessionID: "s", TSMillis: 1764806400123, Actor: "pagegen",
		RequestID: "r", CauseEventID: "c", CauseType: "ui.symbol", Voice: "page", CharacterID: "princhetta",
		SectionID: 8, SymbolID: "princhetta", Orientation: "S", Prompt: "why?", Symbols: []string{"a", "", "ü"},
		Meaning: "m", ParentPageID: "pp", ParentText: strings.Repeat("long text ", 100),
		RecentPages: []PageRef{{PageID: "p1", CharacterID: "c1", SectionID: 3, Title: "t", Text: strings.Repeat("x", 300)}, {PageID: "p2"}},
		Attempt:     -2,
	}
}

func TestRequestRoundTrip(t *testing.T) {
	in := sampleRequest()
	var e Encoder
	e.AppendRequest(&in)
	var out Request
	if err := DecodeRequest(e.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
	}
	if e.Bytes()[0] != Magic || e.Bytes()[1] != KindRequest {
		t.Fatalf("header % x", e.Bytes()[:2])
	}
}

func TestResponseRoundTripAndJSONAgree(t *testing.T) {
	in := Response{Title: "T", Text: strings.Repeat("é", 200), Sources: []Source{{PassageID: "p", PageNumber: 381, CharacterID: "c", SectionID: 8, Excerpt: "x", Generated: "g"}}, Meaning: "m", Generator: "compose"}
	var e Encoder
	e.AppendResponse(&in)
	var out Response
	if err := DecodeResponse(e.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip: %+v", out)
	}
	j, _ := json.Marshal(in)
	var fromJSON Response
	if err := json.Unmarshal(j, &fromJSON); err != nil || !reflect.DeepEqual(fromJSON, in) {
		t.Fatalf("JSON form differs: %s", j)
	}
}

func TestPassagesAndHostBodies(t *testing.T) {
	ps := []Passage{{ID: "a", CharacterID: "c", SectionID: 1, PageNumber: 2, Text: "t", Score: 0.5}, {ID: "b"}}
	var e Encoder
	e.AppendPassages(ps)
	got, err := DecodePassages(e.Bytes())
	if err != nil || !reflect.DeepEqual(got, ps) {
		t.Fatalf("passages %+v %v", got, err)
	}
	q := RetrieveQuery{Query: "q", CharacterID: "c", SectionID: 16, K: 32}
	e.Reset()
	e.AppendRetrieveQuery(&q)
	var q2 RetrieveQuery
	if err := DecodeRetrieveQuery(e.Bytes(), &q2); err != nil || q2 != q {
		t.Fatalf("query %+v %v", q2, err)
	}
	g := GenerateRequest{Prompt: "p", Passages: ps}
	e.Reset()
	e.AppendGenerateRequest(&g)
	var g2 GenerateRequest
	if err := DecodeGenerateRequest(e.Bytes(), &g2); err != nil || !reflect.DeepEqual(g2, g) {
		t.Fatalf("generate %+v %v", g2, err)
	}
	cp := CorpusPage{Number: 381, CharacterID: "princhetta", SectionID: 8, Title: "t", Text: "x"}
	e.Reset()
	e.AppendCorpusPage(&cp)
	var cp2 CorpusPage
	if err := DecodeCorpusPage(e.Bytes(), &cp2); err != nil || cp2 != cp {
		t.Fatalf("corpus page %+v %v", cp2, err)
	}
}

func TestMalformedFramesAreErrors(t *testing.T) {
	in := sampleRequest()
	var e Encoder
	e.AppendRequest(&in)
	good := e.Bytes()
	cases := map[string][]byte{
		"empty":       {},
		"json":        []byte(`{"kind":"page"}`),
		"wrong kind":  append([]byte{Magic, KindResponse}, good[2:]...),
		"truncated":   good[:len(good)-5],
		"length past": {Magic, KindRequest, 1, 50, 'a'},
		"bad varint":  {Magic, KindRequest, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
		"bad int":     {Magic, KindRequest, 15, 2, 0x80, 0x80},
	}
	for name, b := range cases {
		var r Request
		if err := DecodeRequest(b, &r); err == nil {
			t.Errorf("%s: decoded without error: %+v", name, r)
		}
	}
	var r Response
	if err := DecodeResponse([]byte{Magic, KindResponse, 2, 200, 1, 'x'}, &r); err == nil {
		t.Error("response with a length past the end decoded")
	}
}

func TestUnknownTagsAreSkipped(t *testing.T) {
	var e Encoder
	e.Message(KindResponse)
	e.String(99, "from the future")
	e.String(2, "text")
	var r Response
	if err := DecodeResponse(e.Bytes(), &r); err != nil || r.Text != "text" {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestNestedRecordLengthWidening(t *testing.T) {
	for _, n := range []int{0, 100, 126, 127, 128, 200, 16383, 16384, 70000} {
		var e Encoder
		e.Message(KindResponse)
		e.String(1, "a")
		m := e.Begin(3)
		e.String(5, strings.Repeat("z", n))
		e.End(m)
		e.String(2, "after")
		var r Response
		if err := DecodeResponse(e.Bytes(), &r); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if r.Title != "a" || r.Text != "after" || len(r.Sources) != 1 || len(r.Sources[0].Excerpt) != n {
			t.Fatalf("n=%d: %+v", n, r)
		}
	}
	if !bytes.Equal(AppendUvarint(nil, 300), []byte{0xac, 0x02}) {
		t.Fatal("uvarint encoding differs from protobuf's")
	}
}

func BenchmarkRequest1KB(b *testing.B) {
	in := sampleRequest()
	in.ParentText = strings.Repeat("x", 700)
	var e Encoder
	for i := 0; i < b.N; i++ {
		e.Reset()
		e.AppendRequest(&in)
		var out Request
		if err := DecodeRequest(e.Bytes(), &out); err != nil {
			b.Fatal(err)
		}
	}
}

func TestNoCopyDecodingSharesTheMessage(t *testing.T) {
	in := sampleRequest()
	var e Encoder
	e.AppendRequest(&in)
	msg := append([]byte(nil), e.Bytes()...)
	var out Request
	if err := DecodeRequestNoCopy(msg, &out); err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("%v %+v", err, out)
	}
	var copied Request
	if err := DecodeRequest(msg, &copied); err != nil {
		t.Fatal(err)
	}
	for i := range msg {
		msg[i] = 'Z'
	}
	if copied.ParentText != in.ParentText {
		t.Fatal("DecodeRequest's strings changed with the message")
	}
}

// TestSmallIntMatchesUvarint checks the loop-free int decoder against encoding every width of
// varint, and that it refuses values that do not fill their bytes exactly.
func TestSmallIntMatchesUvarint(t *testing.T) {
	for _, n := range []int64{0, 1, -1, 63, -64, 64, 1 << 13, -(1 << 20), 1764806400000, -1764806400000, 1 << 48, 1<<55 - 1, 1 << 56, math.MaxInt64, math.MinInt64} {
		v := AppendUvarint(nil, zigzag(n))
		got, ok := smallInt(v)
		if !ok || got != n {
			t.Errorf("smallInt(%x) = %d, %v; want %d", v, got, ok, n)
		}
		if len(v) > 1 {
			if _, ok := smallInt(v[:len(v)-1]); ok {
				t.Errorf("smallInt accepted a truncated varint %x", v[:len(v)-1])
			}
		}
		if _, ok := smallInt(append(append([]byte(nil), v...), 0)); ok {
			t.Errorf("smallInt accepted %x with a trailing byte", v)
		}
	}
	if _, ok := smallInt(nil); ok {
		t.Error("smallInt accepted an empty value")
	}
}

// TestNoCopyDecoderAgreesOnDamagedMessages feeds the flat no-copy decoder every truncation and
// many byte flips of a request, and checks it agrees with the general decoder (same fields, or
// both refuse) and never panics.
func TestNoCopyDecoderAgreesOnDamagedMessages(t *testing.T) {
	in := Request{Kind: "page", EventID: "e", TSMillis: 1764806400000, CharacterID: "london-fox", SectionID: 300,
		ParentText: strings.Repeat("x", 200), Symbols: []string{"a", ""}, RecentPages: []PageRef{{PageID: "p", SectionID: 2, Text: "t"}}, Attempt: 2}
	var e Encoder
	e.AppendRequest(&in)
	msg := append([]byte(nil), e.Bytes()...)
	check := func(m []byte) {
		t.Helper()
		var a, b Request
		errA := DecodeRequest(m, &a)
		errB := DecodeRequestNoCopy(append([]byte(nil), m...), &b)
		if (errA == nil) != (errB == nil) || (errA == nil && !reflect.DeepEqual(a, b)) {
			t.Fatalf("decoders disagree on %x: %v / %v\n%+v\n%+v", m, errA, errB, a, b)
		}
	}
	for n := 0; n <= len(msg); n++ {
		check(msg[:n])
	}
	for i := 2; i < len(msg); i++ {
		for _, x := range []byte{0x00, 0x01, 0x7f, 0x80, 0xff} {
			m := append([]byte(nil), msg...)
			m[i] = x
			check(m)
		}
	}
}
