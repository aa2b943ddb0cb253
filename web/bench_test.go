package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gibsey/gibsey/host/event"
	"github.com/gibsey/gibsey/templates"
	"github.com/gibsey/gibsey/web"
)

// gridData is the reader data the grid needs, from the test cast.
func gridData(t testing.TB) templates.Reader {
	cast := testCast(t)
	d := templates.Reader{SessionID: event.NewID(), Orientation: "E", CharacterID: cast.Cast[7].ID, SectionID: 8, SymbolID: cast.Cast[7].SymbolID(8)}
	for i, c := range cast.Cast {
		d.Characters = append(d.Characters, templates.Character{ID: c.ID, Name: c.Name, Code: c.Code, Section: c.Section, SectionTitle: c.SectionTitle, Color: c.Color, Index: i + 1})
		d.Sections = append(d.Sections, templates.Section{Number: c.Section, Title: c.SectionTitle})
	}
	d.Grid = templates.BuildGrid(d.Characters, d.Sections)
	return d
}

// nativeGrid writes the same markup as templates.Grid with a strings.Builder: the
// baseline the templ component is measured against.
func nativeGrid(d templates.Reader) string {
	var b strings.Builder
	b.Grow(64 << 10)
	e := html.EscapeString
	b.WriteString(`<form class="grid-form" method="post" action="/event/ui/symbol" data-live="symbol"><input type="hidden" name="session_id" value="`)
	b.WriteString(e(d.SessionID))
	b.WriteString(`"> <input type="hidden" name="orientation" value="`)
	b.WriteString(e(d.Orientation))
	b.WriteString(`" data-orientation-input><div class="grid" role="group" aria-labelledby="grid-h" aria-describedby="grid-hint"><span class="corner" aria-hidden="true"></span> `)
	for _, c := range d.Characters {
		b.WriteString(`<span class="colhead c`)
		b.WriteString(strconv.Itoa(c.Index))
		b.WriteString(`" title="`)
		b.WriteString(e(c.Name))
		b.WriteString(`" data-id="`)
		b.WriteString(e(c.ID))
		b.WriteString(`" aria-hidden="true">`)
		b.WriteString(e(c.Code))
		b.WriteString(`</span> `)
	}
	for _, row := range d.Grid {
		b.WriteString(`<span class="rowhead" title="`)
		b.WriteString(e(row.Title))
		b.WriteString(`" aria-hidden="true">`)
		b.WriteString(e(row.Label))
		b.WriteString(`</span> `)
		for _, c := range row.Cells {
			b.WriteString(`<button type="submit" name="symbol_id" value="`)
			b.WriteString(e(c.Symbol))
			b.WriteString(`" class="cell" data-c="`)
			b.WriteString(e(c.Color))
			b.WriteString(`"`)
			if c.Own {
				b.WriteString(` data-own`)
			}
			b.WriteString(` aria-label="`)
			b.WriteString(e(c.Label))
			if c.CharacterID == d.CharacterID && c.Section == d.SectionID {
				b.WriteString(`" aria-pressed="true"`)
			} else {
				b.WriteString(`" aria-pressed="false"`)
			}
			b.WriteString(`><svg aria-hidden="true" focusable="false"><use href="`)
			b.WriteString(e(string(c.Href)))
			b.WriteString(`"></use></svg></button>`)
		}
	}
	b.WriteString(`</div></form>`)
	return b.String()
}

func templGrid(t testing.TB, d templates.Reader) string {
	var buf bytes.Buffer
	if err := templates.Grid(d).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// The baseline must write the same bytes, or the comparison means nothing.
func TestNativeGridBaselineWritesTheSameHTML(t *testing.T) {
	d := gridData(t)
	got, want := nativeGrid(d), templGrid(t, d)
	if got != want {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		lo := max(0, i-80)
		t.Fatalf("baseline differs at byte %d:\nnative: %q\ntempl:  %q", i, got[lo:min(len(got), i+80)], want[lo:min(len(want), i+80)])
	}
	if n := strings.Count(want, "<button"); n != 256 {
		t.Fatalf("%d cells", n)
	}
}

// BenchmarkReaderGrid renders the 16 × 16 grid with templ and with the strings.Builder
// baseline.
func BenchmarkReaderGrid(b *testing.B) {
	d := gridData(b)
	b.Run("templ", func(b *testing.B) {
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := templates.Grid(d).Render(context.Background(), &buf); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "html_bytes")
	})
	b.Run("native", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n = len(nativeGrid(d))
		}
		b.ReportMetric(float64(n), "html_bytes")
	})
}

// BenchmarkReaderPage serves GET / for a session with pages, questions and saved pages,
// and reports the page weight: HTML bytes, gzipped bytes, and the CSS and JS sizes.
func BenchmarkReaderPage(b *testing.B) {
	f := newFixture(b, nil)
	sid := event.NewID()
	cast := f.p.cast.Cast
	for i := 0; i < 8; i++ {
		c := cast[i]
		click, _ := event.New(event.TypeSymbol, sid, event.ActorUser, event.SymbolClick{CharacterID: c.ID, SectionID: c.Section, SymbolID: c.SymbolID(c.Section), Orientation: "N"})
		f.p.store(click)
		f.p.writePage(click)
	}
	ask, _ := event.New(event.TypeAsk, sid, event.ActorUser, event.Ask{Prompt: "Where does the path go?"})
	f.p.store(ask)
	f.p.writePage(ask)
	for i, p := range pageDones(b, f.p.st, sid)[:3] {
		v, _ := event.New(event.TypeVault, sid, event.ActorUser, event.VaultSave{PageID: p.PageID, Label: "kept " + strconv.Itoa(i), Notes: "a note"})
		f.p.store(v)
	}
	req := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: sid})
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("GET /: %d", w.Code)
		}
		return w
	}
	body := req().Body.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		req()
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write(body)
	zw.Close()
	cssRaw, cssGz := f.srv.AssetSizes("app.css")
	castRaw, castGz := f.srv.AssetSizes("cast.css")
	jsRaw, jsGz := f.srv.AssetSizes("app.js")
	b.ReportMetric(float64(len(body)), "html_bytes")
	b.ReportMetric(float64(gz.Len()), "html_gzip_bytes")
	b.ReportMetric(float64(cssRaw+castRaw), "css_bytes")
	b.ReportMetric(float64(cssGz+castGz), "css_gzip_bytes")
	b.ReportMetric(float64(jsRaw), "js_bytes")
	b.ReportMetric(float64(jsGz), "js_gzip_bytes")
}
