// Package event is Gibsey's event model: the envelope every message travels in, the event
// types and the topics they go to, the typed payloads, the Kafka headers, and validation.
//
// It is the ground floor of the host: it imports nothing of the project, and every other
// stage (bus, store, stream, actors, web) speaks in its types.
package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Topics of the show (see DESIGN.md). The partition key is always the session_id.
const (
	TopicUISymbol      = "gibsey.ui.symbol"
	TopicUIOrientation = "gibsey.ui.orientation"
	TopicAsk           = "gibsey.ask"
	TopicPageRequest   = "gibsey.generate.page.request"
	TopicPageDone      = "gibsey.generate.page.done"
	TopicIndexUpdate   = "gibsey.index.update"
	TopicVault         = "gibsey.vault"
	TopicSnapshot      = "gibsey.snapshot"
	TopicAudit         = "gibsey.audit"
	TopicDLQ           = "gibsey.dlq"
)

// Topics lists all ten topics in a stable order.
var Topics = []string{
	TopicUISymbol, TopicUIOrientation, TopicAsk, TopicPageRequest, TopicPageDone,
	TopicIndexUpdate, TopicVault, TopicSnapshot, TopicAudit, TopicDLQ,
}

// Event types (the envelope's "type" field).
const (
	TypeSymbol      = "ui.symbol"
	TypeOrientation = "ui.orientation"
	TypeAsk         = "ask"
	TypePageRequest = "generate.page.request"
	TypePageDone    = "generate.page.done"
	TypeIndexUpdate = "index.update"
	TypeVault       = "vault"
	TypeSnapshot    = "snapshot"
	TypeAudit       = "audit"
)

var typeTopics = map[string]string{
	TypeSymbol:      TopicUISymbol,
	TypeOrientation: TopicUIOrientation,
	TypeAsk:         TopicAsk,
	TypePageRequest: TopicPageRequest,
	TypePageDone:    TopicPageDone,
	TypeIndexUpdate: TopicIndexUpdate,
	TypeVault:       TopicVault,
	TypeSnapshot:    TopicSnapshot,
	TypeAudit:       TopicAudit,
}

// TopicOf returns the topic an event type is produced to, or "" for an unknown type.
func TopicOf(typ string) string { return typeTopics[typ] }

// KnownType reports whether typ is one of the event types above.
func KnownType(typ string) bool { _, ok := typeTopics[typ]; return ok }

// Header names carried on every Kafka record (when they apply).
const (
	HeaderCharacter   = "x-character"
	HeaderSection     = "x-section"
	HeaderSymbol      = "x-symbol"
	HeaderOrientation = "x-orientation"
	HeaderVoice       = "x-voice"
	HeaderType        = "x-type"
	// Dead-letter headers.
	HeaderDLQReason    = "x-dlq-reason"
	HeaderDLQTopic     = "x-dlq-topic"
	HeaderDLQPartition = "x-dlq-partition"
	HeaderDLQOffset    = "x-dlq-offset"
	HeaderDLQStage     = "x-dlq-stage"
)

// Actors of an envelope.
const (
	ActorUser   = "user"
	ActorSystem = "system"
	ActorAgent  = "agent"
)

// Orientations of the dial.
var Orientations = []string{"N", "E", "S", "W"}

// ValidOrientation reports whether o is one of N, E, S, W.
func ValidOrientation(o string) bool {
	switch o {
	case "N", "E", "S", "W":
		return true
	}
	return false
}

// Envelope is the JSON wrapper of every event on every topic.
type Envelope struct {
	EventID    string          `json:"event_id"`
	Type       string          `json:"type"`
	TS         time.Time       `json:"ts"`
	SessionID  string          `json:"session_id"`
	Actor      string          `json:"actor"`
	Payload    json.RawMessage `json:"payload"`
	Provenance Provenance      `json:"provenance"`
}

// Provenance of an envelope: which client and version made it, plus free-form extras.
type Provenance struct {
	Client  string            `json:"client,omitempty"`
	Version string            `json:"version,omitempty"`
	Extra   map[string]string `json:"extra,omitempty"`
}

// FieldError names the field of an input that is wrong and why.
type FieldError struct {
	Field string `json:"field"`
	Msg   string `json:"error"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Fieldf makes a *FieldError.
func Fieldf(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ErrMalformed wraps every decoding/validation failure of a message read from a topic.
var ErrMalformed = errors.New("malformed event")

// ValidUUID reports whether s is a canonical uuid string.
func ValidUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// NewID returns a new random (v4) uuid string.
func NewID() string { return uuid.NewString() }

// New builds an envelope of the given type with a fresh event_id and the current UTC time,
// marshalling payload (which must be one of this package's payload types or raw JSON).
func New(typ, sessionID, actor string, payload any) (Envelope, error) {
	raw, err := marshalPayload(payload)
	if err != nil {
		return Envelope{}, err
	}
	return Envelope{
		EventID:    NewID(),
		Type:       typ,
		TS:         time.Now().UTC().Truncate(time.Microsecond),
		SessionID:  sessionID,
		Actor:      actor,
		Payload:    raw,
		Provenance: Provenance{Client: "gibsey-host", Version: Version},
	}, nil
}

// Version is the host's version, stamped into provenance.
var Version = "0.1.0"

func marshalPayload(p any) (json.RawMessage, error) {
	switch v := p.(type) {
	case json.RawMessage:
		return v, nil
	case []byte:
		return json.RawMessage(v), nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("event: marshal payload: %w", err)
	}
	return b, nil
}

// Validate checks the envelope's own fields (not the payload's schema; see Decode).
func (e *Envelope) Validate() error {
	switch {
	case !ValidUUID(e.EventID):
		return Fieldf("event_id", "must be a uuid, got %q", clip(e.EventID))
	case !KnownType(e.Type):
		return Fieldf("type", "unknown event type %q", clip(e.Type))
	case e.TS.IsZero():
		return Fieldf("ts", "missing (RFC 3339, UTC)")
	case !ValidUUID(e.SessionID):
		return Fieldf("session_id", "must be a uuid, got %q", clip(e.SessionID))
	}
	switch e.Actor {
	case ActorUser, ActorSystem, ActorAgent:
	default:
		return Fieldf("actor", "must be user, system or agent, got %q", clip(e.Actor))
	}
	if len(e.Payload) == 0 || e.Payload[0] != '{' {
		return Fieldf("payload", "must be a JSON object")
	}
	return nil
}

// Marshal encodes the envelope as JSON (ts in RFC 3339 UTC).
func (e Envelope) Marshal() ([]byte, error) {
	e.TS = e.TS.UTC()
	return json.Marshal(e)
}

// Decode parses and fully validates a message value: envelope fields, then the payload
// against the schema of its type. Every failure wraps ErrMalformed and says why.
func Decode(b []byte) (Envelope, error) {
	var e Envelope
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&e); err != nil {
		return e, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := e.DecodePayload(); err != nil {
		return e, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return e, nil
}

// DecodePayload decodes the payload into the typed struct of the envelope's type and
// validates it. It returns a pointer (e.g. *SymbolClick).
func (e *Envelope) DecodePayload() (Validator, error) {
	var v Validator
	switch e.Type {
	case TypeSymbol:
		v = &SymbolClick{}
	case TypeOrientation:
		v = &OrientationTurn{}
	case TypeAsk:
		v = &Ask{}
	case TypePageRequest:
		v = &PageRequest{}
	case TypePageDone:
		v = &PageDone{}
	case TypeIndexUpdate:
		v = &IndexUpdate{}
	case TypeVault:
		v = &VaultSave{}
	case TypeSnapshot:
		v = &SnapshotRequest{}
	case TypeAudit:
		v = &Audit{}
	default:
		return nil, Fieldf("type", "unknown event type %q", clip(e.Type))
	}
	if err := json.Unmarshal(e.Payload, v); err != nil {
		return nil, Fieldf("payload", "does not match the %s schema: %v", e.Type, err)
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return v, nil
}

// Validator is implemented by every payload type.
type Validator interface{ Validate() error }

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

var idNamespace = uuid.MustParse("6f1c3a52-9d0e-4f7a-8b1e-2a7d5c9e4b10")

// DeriveID returns a uuid derived deterministically from another id and a kind (uuid v5), so
// that an event produced again for the same cause (a redelivery) carries the same id and is
// deduplicated downstream.
func DeriveID(from, kind string) string {
	return uuid.NewSHA1(idNamespace, []byte(from+"/"+kind)).String()
}
