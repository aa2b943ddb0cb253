package corpus

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// realCorpusDir returns the novel's corpus folder (GIBSEY_TEST_CORPUS, else
// ../../../shared/corpus), skipping the test when it is absent.
func realCorpusDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GIBSEY_TEST_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, CharactersFile)); err != nil {
		t.Skipf("real corpus not found at %s (set GIBSEY_TEST_CORPUS to its folder): %v", dir, err)
	}
	return dir
}

const sampleDir = "../../examples/corpus"

func TestLoadRealCorpus(t *testing.T) {
	c, err := Load(realCorpusDir(t))
	if err != nil {
		t.Fatal(err)
	}
	chars := c.Characters()
	if len(chars) != 16 {
		t.Fatalf("want 16 characters, got %d", len(chars))
	}
	if c.PageCount() != 710 {
		t.Fatalf("want 710 pages, got %d", c.PageCount())
	}
	for i, ch := range chars {
		if ch.Section != i+1 {
			t.Fatalf("characters not sorted by section: #%d is section %d", i, ch.Section)
		}
	}
	pr, ok := c.Character("princhetta")
	if !ok || pr.Section != 8 || pr.StartPage != 381 || pr.EndPage != 385 || pr.Code != "PR" || pr.SymbolID(8) != "S8-PR" {
		t.Fatalf("princhetta: %+v (found %v)", pr, ok)
	}
	if bs, ok := c.BySection(8); !ok || bs.ID != "princhetta" {
		t.Fatalf("BySection(8) = %+v, %v", bs, ok)
	}
	pages := c.PagesOf("princhetta")
	if len(pages) != 5 || pages[0].Number != 381 || pages[4].Number != 385 {
		t.Fatalf("PagesOf(princhetta): %d pages", len(pages))
	}
	for _, p := range pages {
		if p.CharacterID != "princhetta" || p.Section != 8 || len(p.Text) < 100 || !strings.HasPrefix(p.File, "pages/") {
			t.Fatalf("page %d: %+v", p.Number, p)
		}
		// The page text is the file's text.
		raw, err := os.ReadFile(filepath.Join(c.Dir(), p.File))
		if err != nil || !strings.Contains(string(raw), p.Text[:80]) {
			t.Fatalf("page %d text does not come from %s: %v", p.Number, p.File, err)
		}
	}
	if p, ok := c.Page(1); !ok || p.CharacterID != "an-author" {
		t.Fatalf("page 1: %+v %v", p, ok)
	}
	if _, ok := c.Page(711); ok {
		t.Fatal("page 711 should not exist")
	}
	svg, ok := c.Glyph("princhetta")
	if !ok || !strings.Contains(string(svg), "<svg") {
		t.Fatalf("princhetta's glyph: ok=%v, %d bytes", ok, len(svg))
	}
	codes := map[string]bool{}
	for _, ch := range chars {
		if len(ch.Code) != 2 || codes[ch.Code] {
			t.Fatalf("character %s: code %q empty or shared", ch.ID, ch.Code)
		}
		codes[ch.Code] = true
	}
	if len(c.Fingerprint()) != 64 {
		t.Fatalf("fingerprint %q", c.Fingerprint())
	}
}

func TestLoadSampleCorpus(t *testing.T) {
	c, err := Load(sampleDir)
	if err != nil {
		t.Fatal(err)
	}
	chars := c.Characters()
	if len(chars) != 16 || c.PageCount() != 48 {
		t.Fatalf("want 16 characters and 48 pages, got %d and %d", len(chars), c.PageCount())
	}
	for i, ch := range chars {
		pages := c.PagesOf(ch.ID)
		if ch.Section != i+1 || len(pages) != 3 || pages[0].Number != 3*i+1 {
			t.Fatalf("character %s: section %d, %d pages", ch.ID, ch.Section, len(pages))
		}
		for _, p := range pages {
			words := len(strings.Fields(p.Text))
			if words < 100 || words > 260 {
				t.Errorf("sample page %d has %d words, want about 120..250", p.Number, words)
			}
		}
	}
	// The sample's cast matches the novel's ids, names and sections.
	if dir := os.Getenv("GIBSEY_TEST_CORPUS"); dir != "" || fileExists(filepath.Join("..", "..", "..", "shared", "corpus", CharactersFile)) {
		real, err := Load(realCorpusDir(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, rc := range real.Characters() {
			sc, ok := c.Character(rc.ID)
			if !ok || sc.Name != rc.Name || sc.Section != rc.Section || sc.SectionTitle != rc.SectionTitle || sc.Code != rc.Code {
				t.Errorf("sample character %q differs from the novel's: %+v vs %+v", rc.ID, sc, rc)
			}
		}
	}
	// No glyph files in the sample: the UI falls back.
	if _, ok := c.Glyph("princhetta"); ok {
		t.Error("sample corpus has no glyph files, Glyph should say so")
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// writeCorpus makes a corpus folder with the given cast and page files.
func writeCorpus(t *testing.T, chars []map[string]any, pages map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if chars != nil {
		b, _ := json.Marshal(map[string]any{"characters": chars})
		if err := os.WriteFile(filepath.Join(dir, CharactersFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if pages != nil {
		os.MkdirAll(filepath.Join(dir, PagesDir), 0o755)
		for name, text := range pages {
			if err := os.WriteFile(filepath.Join(dir, PagesDir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func twoChars() []map[string]any {
	return []map[string]any{
		{"id": "b-two", "name": "Bee Two", "section": 2, "section_title": "Second", "start_page": 3, "end_page": 3},
		{"id": "a-one", "name": "Ay One", "section": 1, "section_title": "First", "start_page": 1, "end_page": 2, "glyph": "glyphs/a.svg"},
	}
}

func TestLoadSmallCorpusBothFileNamings(t *testing.T) {
	dir := writeCorpus(t, twoChars(), map[string]string{
		"001.md":          "# A heading\n\nfirst page text",
		"002-anything.md": "second page\r\n\r\nwith two paragraphs\n",
		"3.md":            "third page",
		"README.md":       "not a page",
	})
	os.MkdirAll(filepath.Join(dir, "glyphs"), 0o755)
	os.WriteFile(filepath.Join(dir, "glyphs", "a.svg"), []byte("<svg/>"), 0o644)
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	chars := c.Characters()
	if chars[0].ID != "a-one" || chars[1].ID != "b-two" || chars[0].Code != "AO" || chars[1].Code != "BT" {
		t.Fatalf("cast: %+v", chars)
	}
	p1, _ := c.Page(1)
	if p1.Title != "A heading" || p1.Text != "first page text" {
		t.Fatalf("page 1: %+v", p1)
	}
	p2, _ := c.Page(2)
	if p2.Title != "First" || p2.Text != "second page\n\nwith two paragraphs" || p2.File != "pages/002-anything.md" {
		t.Fatalf("page 2: %+v", p2)
	}
	if p3, _ := c.Page(3); p3.CharacterID != "b-two" || p3.Section != 2 {
		t.Fatalf("page 3: %+v", p3)
	}
	if svg, ok := c.Glyph("a-one"); !ok || string(svg) != "<svg/>" {
		t.Fatalf("glyph: %q %v", svg, ok)
	}
	if _, ok := c.Glyph("b-two"); ok {
		t.Fatal("b-two has no glyph")
	}

	// The fingerprint follows the content.
	fp := c.Fingerprint()
	again, _ := Load(dir)
	if again.Fingerprint() != fp {
		t.Fatal("same content, different fingerprint")
	}
	os.WriteFile(filepath.Join(dir, PagesDir, "3.md"), []byte("third page, revised"), 0o644)
	changed, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Fingerprint() == fp {
		t.Fatal("a page changed but the fingerprint did not")
	}
}

func TestDerivedCodesAreUnique(t *testing.T) {
	chars := []map[string]any{
		{"id": "pa", "name": "Princhetta", "section": 1, "start_page": 1, "end_page": 1},
		{"id": "pb", "name": "Prue", "section": 2, "start_page": 2, "end_page": 2},
		{"id": "pc", "name": "Xy", "section": 3, "start_page": 3, "end_page": 3, "demo_family_id": "pr"},
	}
	c, err := Load(writeCorpus(t, chars, map[string]string{"1.md": "a", "2.md": "b", "3.md": "c"}))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, ch := range c.Characters() {
		got = append(got, ch.Code)
	}
	// pc claims PR explicitly, so Princhetta and Prue each take their first letter with the
	// next letter of their name that is still free.
	if strings.Join(got, ",") != "PI,PU,PR" {
		t.Fatalf("codes %v, want PI,PU,PR", got)
	}
}

func TestLoadErrors(t *testing.T) {
	pages3 := map[string]string{"001.md": "a", "002.md": "b", "003.md": "c"}
	mod := func(f func(cs []map[string]any)) []map[string]any { cs := twoChars(); f(cs); return cs }
	cases := []struct {
		name  string
		chars []map[string]any
		pages map[string]string
		raw   string // characters.json contents, when set
		want  string
	}{
		{"no characters.json", nil, pages3, "", "has no characters.json"},
		{"bad json", nil, pages3, "{not json", "not valid JSON"},
		{"empty cast", []map[string]any{}, pages3, "", "no characters"},
		{"missing id", mod(func(cs []map[string]any) { delete(cs[0], "id") }), pages3, "", "id is required"},
		{"missing name", mod(func(cs []map[string]any) { cs[0]["name"] = "" }), pages3, "", `"b-two": name is required`},
		{"section out of range", mod(func(cs []map[string]any) { cs[0]["section"] = 17 }), pages3, "", "section must be between 1 and 16, got 17"},
		{"duplicate section", mod(func(cs []map[string]any) { cs[0]["section"] = 1 }), pages3, "", "section 1 already belongs"},
		{"duplicate id", mod(func(cs []map[string]any) { cs[0]["id"] = "a-one" }), pages3, "", `"a-one": id appears twice`},
		{"no pages in range", mod(func(cs []map[string]any) { cs[0]["start_page"] = 3; cs[0]["end_page"] = 2 }), pages3, "", `"b-two": has no pages`},
		{"overlap", mod(func(cs []map[string]any) { cs[0]["start_page"] = 2 }), pages3, "", "overlap"},
		{"character without page files", twoChars(), map[string]string{"001.md": "a", "002.md": "b"}, "", `character "b-two" (section 2) has no pages`},
		{"missing page in range", twoChars(), map[string]string{"001.md": "a", "003.md": "c"}, "", `"a-one" (section 1): 1 page file(s) missing`},
		{"page outside ranges", twoChars(), map[string]string{"001.md": "a", "002.md": "b", "003.md": "c", "004-extra.md": "d"}, "", "pages/004-extra.md: page 4 belongs to no character"},
		{"two files one number", twoChars(), map[string]string{"001.md": "a", "1-x.md": "a", "002.md": "b", "003.md": "c"}, "", "page 1 has two files"},
		{"empty page", twoChars(), map[string]string{"001.md": "a", "002.md": "  \n", "003.md": "c"}, "", "page 2 is empty"},
		{"page zero", twoChars(), map[string]string{"000.md": "z", "001.md": "a", "002.md": "b", "003.md": "c"}, "", "page number must be 1 or more"},
		{"no pages folder", twoChars(), nil, "", "no pages/ folder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeCorpus(t, tc.chars, tc.pages)
			if tc.raw != "" {
				os.WriteFile(filepath.Join(dir, CharactersFile), []byte(tc.raw), 0o644)
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("missing folder: %v", err)
	}
}

func ExampleCorpus_PagesOf() {
	c, err := Load(sampleDir)
	if err != nil {
		panic(err)
	}
	ch, _ := c.BySection(8)
	for _, p := range c.PagesOf(ch.ID) {
		fmt.Println(p.Number, p.File, ch.SymbolID(ch.Section))
	}
	// Output:
	// 22 pages/022.md S8-PR
	// 23 pages/023.md S8-PR
	// 24 pages/024.md S8-PR
}
