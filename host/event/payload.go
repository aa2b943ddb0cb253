package event

import "unicode/utf8"

// Limits on user input.
const (
	MaxPromptBytes = 2000
	MaxLabelBytes  = 120
	MaxNotesBytes  = 2000
	MaxTextBytes   = 64 << 10
)

// SymbolClick is the payload of ui.symbol: a reader clicked the symbol of a character in a
// section, with the dial at an orientation.
type SymbolClick struct {
	CharacterID string `json:"character_id"`
	SectionID   int    `json:"section_id"`
	SymbolID    string `json:"symbol_id"`
	Orientation string `json:"orientation"`
}

// Validate checks shape only; whether the character exists is the caller's (it knows the cast).
func (p *SymbolClick) Validate() error {
	switch {
	case p.CharacterID == "" || len(p.CharacterID) > 64:
		return Fieldf("character_id", "required (at most 64 bytes)")
	case p.SectionID < 1 || p.SectionID > 16:
		return Fieldf("section_id", "must be between 1 and 16, got %d", p.SectionID)
	case p.SymbolID == "" || len(p.SymbolID) > 64:
		return Fieldf("symbol_id", "required (at most 64 bytes)")
	case !ValidOrientation(p.Orientation):
		return Fieldf("orientation", "must be one of N, E, S, W, got %q", clip(p.Orientation))
	}
	return nil
}

// OrientationTurn is the payload of ui.orientation: the dial turned.
type OrientationTurn struct {
	Orientation string `json:"orientation"`
	// CharacterID and SectionID are the cell the reader is on, when known.
	CharacterID string `json:"character_id,omitempty"`
	SectionID   int    `json:"section_id,omitempty"`
}

func (p *OrientationTurn) Validate() error {
	if !ValidOrientation(p.Orientation) {
		return Fieldf("orientation", "must be one of N, E, S, W, got %q", clip(p.Orientation))
	}
	if p.SectionID < 0 || p.SectionID > 16 {
		return Fieldf("section_id", "must be between 1 and 16, got %d", p.SectionID)
	}
	return nil
}

// AskContext is what the reader had selected when asking.
type AskContext struct {
	Symbols []string `json:"symbols"`
}

// Ask is the payload of ask: a question from the reader.
type Ask struct {
	Prompt  string     `json:"prompt"`
	Context AskContext `json:"context"`
}

func (p *Ask) Validate() error {
	switch {
	case len(p.Prompt) == 0:
		return Fieldf("prompt", "required")
	case len(p.Prompt) > MaxPromptBytes:
		return Fieldf("prompt", "too long: %d bytes, at most %d", len(p.Prompt), MaxPromptBytes)
	case !utf8.ValidString(p.Prompt):
		return Fieldf("prompt", "must be UTF-8 text")
	case len(p.Context.Symbols) > 32:
		return Fieldf("context.symbols", "at most 32 symbols")
	}
	return nil
}

// PageRef is a short reference to an earlier page of the session, given to actors.
type PageRef struct {
	PageID      string `json:"page_id"`
	CharacterID string `json:"character_id"`
	SectionID   int    `json:"section_id"`
	Title       string `json:"title"`
	// Text is the start of the page's text (at most 800 bytes), for RAG over earlier pages.
	Text string `json:"text,omitempty"`
}

// PageRequest is the payload of generate.page.request, produced by the stream processor and
// consumed by the actor runner. The voice (also in x-voice) picks the actor.
type PageRequest struct {
	RequestID    string    `json:"request_id"`
	CauseEventID string    `json:"cause_event_id"`
	CauseType    string    `json:"cause_type"`
	Voice        string    `json:"voice"`
	CharacterID  string    `json:"character_id"`
	SectionID    int       `json:"section_id"`
	SymbolID     string    `json:"symbol_id,omitempty"`
	Orientation  string    `json:"orientation"`
	Prompt       string    `json:"prompt,omitempty"`
	Symbols      []string  `json:"symbols,omitempty"`
	Meaning      string    `json:"meaning,omitempty"`
	ParentPageID string    `json:"parent_page_id,omitempty"`
	ParentText   string    `json:"parent_text,omitempty"`
	RecentPages  []PageRef `json:"recent_pages,omitempty"`
	Attempt      int       `json:"attempt,omitempty"`
}

func (p *PageRequest) Validate() error {
	switch {
	case !ValidUUID(p.RequestID):
		return Fieldf("request_id", "must be a uuid")
	case p.Voice == "":
		return Fieldf("voice", "required")
	case p.CharacterID == "":
		return Fieldf("character_id", "required")
	case p.SectionID < 1 || p.SectionID > 16:
		return Fieldf("section_id", "must be between 1 and 16, got %d", p.SectionID)
	case !ValidOrientation(p.Orientation):
		return Fieldf("orientation", "must be one of N, E, S, W")
	}
	return nil
}

// Source is a passage a page drew on.
type Source struct {
	PassageID   string `json:"passage_id"`
	PageNumber  int    `json:"page_number"`
	CharacterID string `json:"character_id"`
	SectionID   int    `json:"section_id"`
	Excerpt     string `json:"excerpt"`
	// Generated is set when the passage is an earlier generated page (its page_id).
	Generated string `json:"generated,omitempty"`
}

// PageProvenance says who wrote a page and from what.
type PageProvenance struct {
	Actor        string   `json:"actor"`
	ActorVersion string   `json:"actor_version"`
	ActorHash    string   `json:"actor_hash"`
	Voice        string   `json:"voice"`
	RequestID    string   `json:"request_id"`
	CauseEventID string   `json:"cause_event_id"`
	CorpusPages  []int    `json:"corpus_pages"`
	Sources      []Source `json:"sources"`
	Meaning      string   `json:"meaning,omitempty"`
	Generator    string   `json:"generator,omitempty"`
}

// PageDone is the payload of generate.page.done: a new page.
type PageDone struct {
	PageID        string         `json:"page_id"`
	SessionID     string         `json:"session_id"`
	CharacterID   string         `json:"character_id"`
	SectionID     int            `json:"section_id"`
	Orientation   string         `json:"orientation"`
	Voice         string         `json:"voice"`
	Title         string         `json:"title"`
	Text          string         `json:"text"`
	ParentPageID  string         `json:"parent_page_id,omitempty"`
	EmbeddingsRef string         `json:"embeddings_ref,omitempty"`
	Provenance    PageProvenance `json:"provenance"`
}

func (p *PageDone) Validate() error {
	switch {
	case !ValidUUID(p.PageID):
		return Fieldf("page_id", "must be a uuid")
	case !ValidUUID(p.SessionID):
		return Fieldf("session_id", "must be a uuid")
	case p.CharacterID == "":
		return Fieldf("character_id", "required")
	case p.SectionID < 1 || p.SectionID > 16:
		return Fieldf("section_id", "must be between 1 and 16")
	case p.Text == "":
		return Fieldf("text", "required")
	case len(p.Text) > MaxTextBytes:
		return Fieldf("text", "too long")
	case !utf8.ValidString(p.Text) || !utf8.ValidString(p.Title):
		return Fieldf("text", "must be UTF-8")
	case p.Provenance.Actor == "" || p.Provenance.ActorHash == "":
		return Fieldf("provenance", "must name the actor and its content hash")
	}
	return nil
}

// IndexUpdate is the payload of index.update: a page was indexed.
type IndexUpdate struct {
	PageID      string `json:"page_id"`
	CharacterID string `json:"character_id"`
	SectionID   int    `json:"section_id"`
}

func (p *IndexUpdate) Validate() error {
	if p.PageID == "" {
		return Fieldf("page_id", "required")
	}
	return nil
}

// VaultSave is the payload of vault: the reader saved a page.
type VaultSave struct {
	PageID string `json:"page_id"`
	Label  string `json:"label"`
	Notes  string `json:"notes"`
}

func (p *VaultSave) Validate() error {
	switch {
	case !ValidUUID(p.PageID):
		return Fieldf("page_id", "must be a uuid")
	case len(p.Label) > MaxLabelBytes:
		return Fieldf("label", "too long: %d bytes, at most %d", len(p.Label), MaxLabelBytes)
	case len(p.Notes) > MaxNotesBytes:
		return Fieldf("notes", "too long: %d bytes, at most %d", len(p.Notes), MaxNotesBytes)
	case !utf8.ValidString(p.Label) || !utf8.ValidString(p.Notes):
		return Fieldf("label", "must be UTF-8 text")
	}
	return nil
}

// SnapshotRequest is the payload of snapshot: take (or record) a snapshot of the session.
type SnapshotRequest struct {
	Reason string `json:"reason,omitempty"`
}

func (p *SnapshotRequest) Validate() error { return nil }

// Audit is the payload of audit: an operator-visible record (actor swaps, dead letters...).
type Audit struct {
	What   string            `json:"what"`
	Detail map[string]string `json:"detail,omitempty"`
}

func (p *Audit) Validate() error {
	if p.What == "" {
		return Fieldf("what", "required")
	}
	return nil
}
