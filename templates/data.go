// Package templates holds the templ components of the reader: the reader page (symbol grid,
// orientation dial, Ask/Receive, live pages, Vault timeline), the canon reader, the page view
// with "Why this page", the actors page, the Vault page and the fragments the browser fetches
// to stay live.
//
// Components take the plain data structs of this file: they know nothing of Kafka,
// Cassandra or the event model. Every string is escaped by templ when rendered; the only
// markup inserted as is, Glyph.Body, must come from web's SVG sanitizer.
package templates

import (
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// Character is a member of the cast as the grid shows it.
type Character struct {
	ID           string
	Name         string
	Code         string // e.g. "PR", used in symbol ids ("S8-PR")
	Section      int    // the character's own section, 1..16
	SectionTitle string
	Color        string // "#RRGGBB", validated by the caller
	// Index is the character's column, 1..16; the colour class is "c<Index>".
	Index int
}

// SymbolID is the id of the character's symbol in a section.
func (c Character) SymbolID(section int) string { return "S" + strconv.Itoa(section) + "-" + c.Code }

// ColorClass is the CSS class that gives the character's colour.
func (c Character) ColorClass() string { return "c" + strconv.Itoa(c.Index) }

// Section is a row of the grid: a section number and its title.
type Section struct {
	Number int
	Title  string
}

// GridRow is a row of the symbol grid: a section and its sixteen cells.
type GridRow struct {
	Number int
	Label  string // the section number as text
	Title  string
	Cells  []GridCell
}

// GridCell is a symbol of the grid, with its attribute values computed once. Its colour
// comes from data-c (the character's Index); data-own marks the character's own section;
// aria-pressed="true" the reader's current cell.
type GridCell struct {
	CharacterID string
	Section     int
	Symbol      string // "S8-PR"
	Color       string // the character's Index as text
	Own         bool
	Label       string // what hover and focus show: character, section and its title
	Href        templ.SafeURL
}

// BuildGrid computes the grid's rows (sections) and cells (characters) once.
func BuildGrid(chars []Character, sections []Section) []GridRow {
	rows := make([]GridRow, 0, len(sections))
	for _, s := range sections {
		row := GridRow{Number: s.Number, Label: strconv.Itoa(s.Number), Title: s.Title, Cells: make([]GridCell, 0, len(chars))}
		for _, c := range chars {
			row.Cells = append(row.Cells, GridCell{
				CharacterID: c.ID, Section: s.Number, Symbol: c.SymbolID(s.Number), Color: strconv.Itoa(c.Index),
				Own: c.Section == s.Number, Label: c.Name + " · section " + row.Label + ": " + s.Title,
				Href: templ.SafeURL("#g-" + c.ID),
			})
		}
		rows = append(rows, row)
	}
	return rows
}

// Glyph is a character's symbol as an SVG <symbol> for the page's sprite.
type Glyph struct {
	ID      string // the character id; referenced as #g-<ID>
	ViewBox string
	// Body is sanitized SVG markup (only shapes and geometry attributes). It is inserted
	// unescaped, so it must come from web's sanitizer.
	Body string
}

// Why says who wrote a page and from what ("Why this page").
type Why struct {
	Actor, Version, Hash, Voice string
	Meaning                     string
	CauseEventID                string
	Sources                     []Source
}

// Source is a passage a page drew on, with a link to it.
type Source struct {
	Label   string // e.g. "p. 381 · princhetta"
	Href    string // /canon/8/381 or /pages/<id>
	Excerpt string
}

// Page is a generated page.
type Page struct {
	ID            string
	Title         string
	Text          string
	CharacterID   string
	CharacterName string
	ColorClass    string // "c<Index>" of the character, "" when unknown
	Section       int
	Orientation   string
	Voice         string
	When          string // human time, e.g. "12:03:04 UTC"
	WhenISO       string // RFC 3339
	ParentID      string
	AnswerTo      string // event id of the question it answers
	Question      string // the question it answers, when known
	Why           Why
}

// Ask is a question the reader asked.
type Ask struct {
	ID          string
	Prompt      string
	When        string
	WhenISO     string
	AnswerID    string
	AnswerTitle string
}

// VaultItem is a saved page on the Vault timeline.
type VaultItem struct {
	EventID string
	PageID  string
	Title   string
	Label   string
	Notes   string
	When    string
	WhenISO string
}

// Notice is a message shown at the top of a page (an input error after a form post, or
// information).
type Notice struct {
	Error string
	Field string
	Info  string
}

// Limits are the input length caps shown in the forms (maxlength).
type Limits struct {
	Prompt, Label, Notes int
}

// Reader is the data of the reader page.
type Reader struct {
	SessionID   string
	Orientation string
	CharacterID string // current cell ("" when none)
	SectionID   int
	SymbolID    string
	Characters  []Character // in section order; the grid's columns
	Sections    []Section   // the grid's rows
	Grid        []GridRow   // BuildGrid(Characters, Sections)
	Glyphs      []Glyph
	Pages       []Page // newest first
	Answers     []Page // pages that answer questions, newest first
	Asks        []Ask  // newest first
	Vault       []VaultItem
	Notice      Notice
	Limits      Limits
	// Cursor is the last event of the session the page shows; the live stream starts after it.
	Cursor string
	// Refresh asks browsers without JavaScript to reload while a page is being written.
	Refresh bool
	// Static is the version suffix of static asset URLs.
	Static string
}

// CurrentCharacter returns the character of the current cell, if any.
func (r Reader) CurrentCharacter() (Character, bool) {
	for _, c := range r.Characters {
		if c.ID == r.CharacterID {
			return c, true
		}
	}
	return Character{}, false
}

// CanonPage is a page of the novel.
type CanonPage struct {
	Number    int
	Title     string
	Text      string
	Character Character
}

// Canon is the data of the canon reader.
type Canon struct {
	SessionID string
	Sections  []Section
	Cast      []Character
	Section   Section
	Character Character // the character whose section it is
	Page      CanonPage
	First     int // first and last page numbers of the section
	Last      int
	Prev      int // 0 when none
	Next      int
	// PrevHref/NextHref link across sections at the ends.
	PrevHref, NextHref string
	Generated          []Page // generated pages of the section's cell, newest first
	Static             string
}

// PageView is the data of a generated page's own view.
type PageView struct {
	SessionID string
	Page      Page
	Limits    Limits
	Notice    Notice
	Static    string
}

// Actor is a row of the actors page.
type Actor struct {
	Name, Version, Hash, Voice string
	Calls, Errors, Timeouts    int64
	LastError                  string
	Previous                   string // hash of the version a rollback restores
}

// Refusal is a version the host refused to install, with the reason.
type Refusal struct {
	Name, Source, Hash, Reason, At string
}

// Actors is the data of the actors page.
type Actors struct {
	Actors   []Actor
	Refusals []Refusal // newest first
	Admin    bool      // whether the admin endpoints are enabled
	Static   string
}

// VaultPage is the data of the Vault page.
type VaultPage struct {
	SessionID string
	Items     []VaultItem
	Static    string
}

// ErrorPage is the data of an error page.
type ErrorPage struct {
	Status  int
	Title   string
	Message string
	Static  string
}

// Paragraphs splits a text into paragraphs at blank lines.
func Paragraphs(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var out []string
	for _, p := range strings.Split(text, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ShortHash shortens a content hash for display.
func ShortHash(h string) string {
	h = strings.TrimPrefix(h, "sha256:")
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func itoa(n int) string { return strconv.Itoa(n) }

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func pressed(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
