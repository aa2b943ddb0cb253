// Package corpus loads a Gibsey corpus folder: characters.json (the sixteen characters, one
// per section, each owning a range of globally numbered pages) and pages/NNN.md or
// pages/NNN-title.md (one page of plain text each, numbered 1..N across the whole book).
//
// A loaded Corpus is immutable and safe for concurrent use. It answers which character owns a
// section, which pages a character owns, a page by its global number, a character's glyph,
// and a content fingerprint that lets the RAG ingest skip work already done.
package corpus

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CharactersFile is the name of the cast file inside a corpus folder.
const CharactersFile = "characters.json"

// PagesDir is the folder of page files inside a corpus folder.
const PagesDir = "pages"

// MaxSections is the number of sections (and of characters) in a full Gibsey corpus.
const MaxSections = 16

// Character is one member of the cast: the owner of one section and of its pages.
type Character struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Section      int    `json:"section"`
	SectionTitle string `json:"section_title"`
	StartPage    int    `json:"start_page"`
	EndPage      int    `json:"end_page"`
	Color        string `json:"color,omitempty"`
	// GlyphPath is the glyph SVG file, relative to the corpus folder ("" when none).
	GlyphPath string `json:"glyph,omitempty"`
	// DemoFamilyID is an optional two-letter family id; when set it is the Code.
	DemoFamilyID string `json:"demo_family_id,omitempty"`
	MirrorTwin   string `json:"mirror_twin,omitempty"`
	Summary      string `json:"summary,omitempty"`
	// Code is the short upper-case code used in symbol ids such as "S8-PR": the
	// demo_family_id when present, else two letters derived from the name (unique in the cast).
	Code string `json:"code"`
}

// PageCount is how many pages the character owns.
func (c Character) PageCount() int { return c.EndPage - c.StartPage + 1 }

// SymbolID is the id of the symbol of this character in a section, e.g. "S8-PR".
func (c Character) SymbolID(section int) string { return fmt.Sprintf("S%d-%s", section, c.Code) }

// Page is one page of the book.
type Page struct {
	// Number is the global page number (1..N across the book).
	Number      int    `json:"number"`
	CharacterID string `json:"character_id"`
	Section     int    `json:"section"`
	// File is the page's path relative to the corpus folder, e.g. "pages/381-princhetta.md".
	File string `json:"file"`
	// Title is the page's leading "# " heading when it has one, else its section's title.
	Title string `json:"title"`
	// Text is the page's text (without a leading heading), trimmed.
	Text string `json:"text"`
}

// Corpus is a loaded corpus folder.
type Corpus struct {
	dir         string
	chars       []Character // sorted by section
	byID        map[string]int
	bySection   map[int]int
	pages       []Page // sorted by number, pages[i].Number == i+1
	glyphs      map[string][]byte
	fingerprint string
}

// castFile is the shape of characters.json (unknown fields are ignored).
type castFile struct {
	Characters []Character `json:"characters"`
}

var pageFileRE = regexp.MustCompile(`^([0-9]+)(-[^/]*)?\.md$`)

// Load reads and checks the corpus folder dir. Errors name the file, character or page
// that is wrong: a missing or malformed characters.json, a duplicate id or section, a section
// outside 1..16, overlapping page ranges, a page file missing from a character's range, a
// page that belongs to no character, two files with the same number, an empty page.
func Load(dir string) (*Corpus, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", dir, err)
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("corpus: folder %s: %w", dir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("corpus: %s is not a folder", dir)
	}
	castPath := filepath.Join(abs, CharactersFile)
	castBytes, err := os.ReadFile(castPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("corpus: %s has no %s (the cast: characters with id, name, section, start_page, end_page)", dir, CharactersFile)
		}
		return nil, fmt.Errorf("corpus: read %s: %w", castPath, err)
	}
	var cast castFile
	if err := json.Unmarshal(castBytes, &cast); err != nil {
		return nil, fmt.Errorf("corpus: %s: not valid JSON of the expected shape ({\"characters\": [...]}): %w", castPath, err)
	}
	c := &Corpus{dir: abs, byID: map[string]int{}, bySection: map[int]int{}, glyphs: map[string][]byte{}}
	if err := c.setCast(cast.Characters); err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", castPath, err)
	}
	if err := c.loadPages(); err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", dir, err)
	}
	c.loadGlyphs()
	c.fingerprint = fingerprint(castBytes, c.pages)
	return c, nil
}

func (c *Corpus) setCast(chars []Character) error {
	if len(chars) == 0 {
		return errors.New(`no characters (want {"characters": [...]} with one character per section)`)
	}
	if len(chars) > MaxSections {
		return fmt.Errorf("%d characters, at most %d (one per section)", len(chars), MaxSections)
	}
	chars = append([]Character(nil), chars...)
	for i := range chars {
		ch := &chars[i]
		ch.ID = strings.TrimSpace(ch.ID)
		ch.Name = strings.TrimSpace(ch.Name)
		ch.Code = "" // always derived (from demo_family_id or the name), never read
		where := fmt.Sprintf("character #%d", i+1)
		if ch.ID != "" {
			where = fmt.Sprintf("character %q", ch.ID)
		}
		switch {
		case ch.ID == "":
			return fmt.Errorf("%s: id is required", where)
		case len(ch.ID) > 64 || strings.ContainsAny(ch.ID, " /\\\t\n"):
			return fmt.Errorf("%s: id must be a slug (no spaces or slashes, at most 64 bytes)", where)
		case ch.Name == "":
			return fmt.Errorf("%s: name is required", where)
		case ch.Section < 1 || ch.Section > MaxSections:
			return fmt.Errorf("%s: section must be between 1 and %d, got %d", where, MaxSections, ch.Section)
		case ch.StartPage < 1:
			return fmt.Errorf("%s: start_page must be 1 or more, got %d", where, ch.StartPage)
		case ch.EndPage < ch.StartPage:
			return fmt.Errorf("%s: has no pages: end_page %d is before start_page %d", where, ch.EndPage, ch.StartPage)
		}
		if ch.SectionTitle == "" {
			ch.SectionTitle = ch.Name
		}
		if _, dup := c.byID[ch.ID]; dup {
			return fmt.Errorf("%s: id appears twice", where)
		}
		c.byID[ch.ID] = i
		if _, dup := c.bySection[ch.Section]; dup {
			return fmt.Errorf("%s: section %d already belongs to another character", where, ch.Section)
		}
		c.bySection[ch.Section] = i
	}
	sort.Slice(chars, func(i, j int) bool { return chars[i].Section < chars[j].Section })
	for i := 1; i < len(chars); i++ {
		prev, cur := chars[i-1], chars[i]
		if cur.StartPage <= prev.EndPage {
			return fmt.Errorf("character %q (section %d): pages %d..%d overlap or come before %q (section %d, pages %d..%d); page ranges must follow section order",
				cur.ID, cur.Section, cur.StartPage, cur.EndPage, prev.ID, prev.Section, prev.StartPage, prev.EndPage)
		}
	}
	if err := assignCodes(chars); err != nil {
		return err
	}
	c.chars = chars
	for i, ch := range chars {
		c.byID[ch.ID] = i
		c.bySection[ch.Section] = i
	}
	return nil
}

// assignCodes sets Code: demo_family_id when present, else two letters from the name.
func assignCodes(chars []Character) error {
	used := map[string]string{}
	for i := range chars {
		ch := &chars[i]
		if code := strings.ToUpper(strings.TrimSpace(ch.DemoFamilyID)); code != "" {
			if !isCode(code) {
				return fmt.Errorf("character %q: demo_family_id %q must be 1 to 4 letters or digits", ch.ID, ch.DemoFamilyID)
			}
			if other, dup := used[code]; dup {
				return fmt.Errorf("character %q: demo_family_id %q is also %q's", ch.ID, code, other)
			}
			ch.Code = code
			used[code] = ch.ID
		}
	}
	for i := range chars {
		ch := &chars[i]
		if ch.Code != "" {
			continue
		}
		for _, cand := range codeCandidates(ch.Name, ch.ID) {
			if _, taken := used[cand]; !taken {
				ch.Code = cand
				used[cand] = ch.ID
				break
			}
		}
		if ch.Code == "" {
			return fmt.Errorf("character %q: cannot derive a unique two-letter code from its name; set demo_family_id", ch.ID)
		}
	}
	return nil
}

func isCode(s string) bool {
	if len(s) < 1 || len(s) > 4 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// codeCandidates lists two-letter codes for a name, best first: initials of the first two
// words ("London Fox" → LF), then the first letter with each later letter ("Princhetta" → PR, PI…).
func codeCandidates(name, id string) []string {
	var letters, initials []rune
	words := func(s string) [][]rune {
		var out [][]rune
		for _, w := range strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }) {
			out = append(out, []rune(w))
		}
		return out
	}
	for _, w := range words(name) {
		initials = append(initials, w[0])
		letters = append(letters, w...)
	}
	for _, w := range words(id) { // the id's letters are a fallback, never initials
		letters = append(letters, w...)
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(initials) >= 2 {
		add(string(initials[:2]))
	}
	if len(letters) >= 2 {
		for _, r := range letters[1:] {
			add(string([]rune{letters[0], r}))
		}
	}
	for _, a := range letters {
		for b := 'A'; b <= 'Z'; b++ {
			add(string([]rune{a, b}))
		}
	}
	return out
}

func (c *Corpus) loadPages() error {
	pagesDir := filepath.Join(c.dir, PagesDir)
	entries, err := os.ReadDir(pagesDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no %s/ folder (want %s/NNN.md or %s/NNN-title.md)", PagesDir, PagesDir, PagesDir)
		}
		return fmt.Errorf("read %s: %w", pagesDir, err)
	}
	files := map[int]string{}
	maxPage := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		m := pageFileRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue // README.md and friends are not pages
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			return fmt.Errorf("%s/%s: page number must be 1 or more", PagesDir, e.Name())
		}
		if other, dup := files[n]; dup {
			return fmt.Errorf("page %d has two files: %s/%s and %s/%s", n, PagesDir, other, PagesDir, e.Name())
		}
		files[n] = e.Name()
		maxPage = max(maxPage, n)
	}
	if len(files) == 0 {
		return fmt.Errorf("%s/ holds no page files (want NNN.md or NNN-title.md)", PagesDir)
	}
	owner := func(n int) (Character, bool) {
		for _, ch := range c.chars {
			if n >= ch.StartPage && n <= ch.EndPage {
				return ch, true
			}
		}
		return Character{}, false
	}
	for n := 1; n <= maxPage; n++ {
		name, ok := files[n]
		if _, owned := owner(n); ok && !owned {
			return fmt.Errorf("%s/%s: page %d belongs to no character's start_page..end_page range", PagesDir, name, n)
		}
	}
	for _, ch := range c.chars {
		missing := 0
		first := 0
		for n := ch.StartPage; n <= ch.EndPage; n++ {
			if _, ok := files[n]; !ok {
				if missing == 0 {
					first = n
				}
				missing++
			}
		}
		switch {
		case missing == ch.PageCount():
			return fmt.Errorf("character %q (section %d) has no pages: none of %s/%03d..%03d exists", ch.ID, ch.Section, PagesDir, ch.StartPage, ch.EndPage)
		case missing > 0:
			return fmt.Errorf("character %q (section %d): %d page file(s) missing from its range %d..%d, the first is page %d", ch.ID, ch.Section, missing, ch.StartPage, ch.EndPage, first)
		}
	}
	last := c.chars[len(c.chars)-1].EndPage
	c.pages = make([]Page, last)
	for n := 1; n <= last; n++ {
		name, ok := files[n]
		if !ok {
			return fmt.Errorf("page %d: no file %s/%03d.md; pages must be numbered 1..%d without gaps", n, PagesDir, n, last)
		}
		ch, _ := owner(n)
		raw, err := os.ReadFile(filepath.Join(pagesDir, name))
		if err != nil {
			return fmt.Errorf("read %s/%s: %w", PagesDir, name, err)
		}
		if !utf8.Valid(raw) {
			return fmt.Errorf("%s/%s: not UTF-8 text", PagesDir, name)
		}
		title, text := splitHeading(string(raw))
		if text == "" {
			return fmt.Errorf("%s/%s: page %d is empty", PagesDir, name, n)
		}
		if title == "" {
			title = ch.SectionTitle
		}
		c.pages[n-1] = Page{Number: n, CharacterID: ch.ID, Section: ch.Section, File: path.Join(PagesDir, name), Title: title, Text: text}
	}
	return nil
}

// splitHeading removes a leading "# heading" line, returning it as the title, and normalises
// line endings.
func splitHeading(s string) (title, text string) {
	s = strings.TrimPrefix(s, "\ufeff")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "# ") {
		line, rest, _ := strings.Cut(s, "\n")
		return strings.TrimSpace(strings.TrimPrefix(line, "# ")), strings.TrimSpace(rest)
	}
	return "", s
}

// loadGlyphs reads each character's glyph SVG when the file exists inside the folder.
// A missing or unsafe glyph is not an error: the UI draws a fallback glyph.
func (c *Corpus) loadGlyphs() {
	for _, ch := range c.chars {
		p := filepath.FromSlash(ch.GlyphPath)
		if p == "" || !filepath.IsLocal(p) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(c.dir, p))
		if err != nil || len(b) == 0 || len(b) > 1<<20 {
			continue
		}
		c.glyphs[ch.ID] = b
	}
}

func fingerprint(cast []byte, pages []Page) string {
	h := sha256.New()
	fmt.Fprintf(h, "gibsey-corpus-v1\n%d\n", len(cast))
	h.Write(cast)
	for _, p := range pages {
		fmt.Fprintf(h, "\x00%d\x00%s\x00%d\x00", p.Number, p.CharacterID, len(p.Text))
		h.Write([]byte(p.Text))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Dir is the corpus folder (absolute).
func (c *Corpus) Dir() string { return c.dir }

// Fingerprint is a hash of the cast file and every page's number, owner and text: equal
// fingerprints mean the same content.
func (c *Corpus) Fingerprint() string { return c.fingerprint }

// Characters returns the cast sorted by section (a fresh slice).
func (c *Corpus) Characters() []Character { return append([]Character(nil), c.chars...) }

// Character returns the character with that id.
func (c *Corpus) Character(id string) (Character, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Character{}, false
	}
	return c.chars[i], true
}

// BySection returns the character who owns section n.
func (c *Corpus) BySection(n int) (Character, bool) {
	i, ok := c.bySection[n]
	if !ok {
		return Character{}, false
	}
	return c.chars[i], true
}

// PageCount is the number of pages in the book.
func (c *Corpus) PageCount() int { return len(c.pages) }

// Page returns the page with global number n.
func (c *Corpus) Page(n int) (Page, bool) {
	if n < 1 || n > len(c.pages) {
		return Page{}, false
	}
	return c.pages[n-1], true
}

// Pages returns every page in order (a fresh slice).
func (c *Corpus) Pages() []Page { return append([]Page(nil), c.pages...) }

// PagesOf returns the pages of a character in order, or nil for an unknown id.
func (c *Corpus) PagesOf(characterID string) []Page {
	ch, ok := c.Character(characterID)
	if !ok {
		return nil
	}
	return append([]Page(nil), c.pages[ch.StartPage-1:ch.EndPage]...)
}

// Glyph returns the SVG bytes of the character's glyph, when characters.json names a glyph
// file that exists in the folder.
func (c *Corpus) Glyph(characterID string) (svg []byte, ok bool) {
	b, ok := c.glyphs[characterID]
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}
