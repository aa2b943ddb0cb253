package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gibsey/gibsey/web"
)

func TestSanitizeGlyphKeepsShapesOnly(t *testing.T) {
	evil := `<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" onload="alert(1)">
  <script>alert(1)</script>
  <rect width="100" height="100" fill="#fff"/>
  <g transform="rotate(90 50 50)" style="x">
    <line x1="10" y1="10" x2="90" y2="10" stroke="#000" stroke-width="6" onclick="alert(2)"/>
    <a href="javascript:alert(3)"><circle cx="50" cy="50" r="5"/></a>
    <path d="M10 10 L20 20" fill="url(#x)" stroke="red"/>
    <foreignObject><div>hi</div></foreignObject>
  </g>
</svg>`
	vb, body, err := web.SanitizeGlyph([]byte(evil))
	if err != nil {
		t.Fatal(err)
	}
	if vb != "0 0 100 100" {
		t.Fatalf("viewBox %q", vb)
	}
	for _, bad := range []string{"script", "onload", "onclick", "javascript", "<a", "style", "url(", "foreignObject", "div", "#000", "red", "#fff"} {
		if strings.Contains(body, bad) {
			t.Fatalf("sanitized glyph still has %q: %s", bad, body)
		}
	}
	for _, want := range []string{`<g transform="rotate(90 50 50)">`, `<line x1="10" y1="10" x2="90" y2="10" stroke="currentColor" stroke-width="6"></line>`, `<rect width="100" height="100" fill="none"></rect>`, `<path d="M10 10 L20 20" stroke="currentColor"></path>`} {
		if !strings.Contains(body, want) {
			t.Fatalf("sanitized glyph lacks %s: %s", want, body)
		}
	}
	for name, in := range map[string]string{
		"not svg":   `<html><line/></html>`,
		"no shapes": `<svg><script>x</script></svg>`,
		"broken":    `<svg><line`,
		"empty":     ``,
	} {
		if _, _, err := web.SanitizeGlyph([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The novel's own glyphs (when the corpus is on this machine) all survive the sanitizer.
func TestSanitizeGlyphAcceptsTheCorpusGlyphs(t *testing.T) {
	dir := os.Getenv("GIBSEY_TEST_CORPUS")
	if dir == "" {
		dir = "../../shared/corpus"
	}
	files, _ := filepath.Glob(filepath.Join(dir, "glyphs", "base-16", "*.svg"))
	if len(files) == 0 {
		t.Skipf("no corpus glyphs at %s/glyphs/base-16 (set GIBSEY_TEST_CORPUS)", dir)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		vb, body, err := web.SanitizeGlyph(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if vb != "0 0 1000 1000" || strings.Count(body, "<line") < 4 || !strings.Contains(body, "currentColor") {
			t.Fatalf("%s: %s %s", f, vb, body)
		}
	}
}

func TestReaderUsesTheCastsGlyphs(t *testing.T) {
	cast := testCast(t)
	withGlyph := cast
	withGlyph.Glyphs = map[string][]byte{cast.Cast[0].ID: []byte(`<svg viewBox="0 0 10 10"><circle cx="5" cy="5" r="4.5" stroke="#000"/></svg>`)}
	f := newFixture(t, func(d *web.Deps) { d.Cast = withGlyph })
	_, body := do(t, "GET", f.ts.URL+"/", "", "")
	if !strings.Contains(body, `<symbol id="g-`+cast.Cast[0].ID+`" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4.5" stroke="currentColor"></circle></symbol>`) {
		t.Fatal("the cast's glyph is not in the sprite")
	}
	// The others fall back to the project's own glyphs.
	if !strings.Contains(body, `<symbol id="g-`+cast.Cast[1].ID+`" viewBox="0 0 1000 1000"><line`) {
		t.Fatal("no fallback glyph")
	}
}
