package actors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/gibsey/gibsey/sdk/frame"
)

// Request kinds an actor can handle (Manifest.Handles).
const (
	KindPage      = "page"
	KindInterpret = "interpret"
)

// VoiceSymbols is the voice of the SymbolInterpreter (Interpret calls go to it).
const VoiceSymbols = "symbols"

// HostFunctions are the functions of import module "gibsey" (sdk/ABI.md section 4).
var HostFunctions = []string{"log", "retrieve", "corpus_page", "state_get", "state_put", "now", "random", "generate"}

// Manifest limits and defaults.
const (
	DefaultMemoryPages    = 1024 // 64 MiB
	DefaultDeadlineMillis = 2000
	MaxDeadlineMillis     = 30000
	DefaultOutputBytes    = 256 << 10
	MaxOutputBytes        = 4 << 20
)

// Manifest describes a plugin (NAME.manifest.json beside NAME.wasm; sdk/ABI.md section 2).
type Manifest struct {
	Name           string          `json:"name"`
	Version        string          `json:"version"`
	Voice          string          `json:"voice"`
	ABI            *int            `json:"abi,omitempty"`
	Handles        []string        `json:"handles"`
	HostFunctions  []string        `json:"host_functions,omitempty"`
	Encoding       string          `json:"encoding,omitempty"`
	MemoryMaxPages int             `json:"memory_max_pages,omitempty"`
	MemoryMB       int             `json:"memory_mb,omitempty"`
	DeadlineMillis int             `json:"deadline_ms,omitempty"`
	OutputMaxBytes int             `json:"output_max_bytes,omitempty"`
	SelfTest       json.RawMessage `json:"self_test"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ParseManifest decodes and validates a manifest (unknown fields are an error, so that typos
// are caught), filling in defaults.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("manifest: not valid JSON: %v", err)
	}
	if err := m.Validate(); err != nil {
		return m, err
	}
	return m, nil
}

// Validate checks the manifest's fields (naming the bad one) and fills in defaults.
func (m *Manifest) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("manifest: field %s: %s", field, fmt.Sprintf(format, args...))
	}
	switch {
	case !nameRE.MatchString(m.Name):
		return bad("name", "must match %s, got %q", nameRE, m.Name)
	case m.Version == "" || len(m.Version) > 64:
		return bad("version", "required (at most 64 bytes)")
	case !nameRE.MatchString(m.Voice):
		return bad("voice", "must match %s, got %q", nameRE, m.Voice)
	case m.ABI != nil && *m.ABI != 0:
		return bad("abi", "this host speaks ABI 0, the manifest says %d", *m.ABI)
	case len(m.Handles) == 0:
		return bad("handles", "required: [\"page\"] and/or [\"interpret\"]")
	}
	for _, h := range m.Handles {
		if h != KindPage && h != KindInterpret {
			return bad("handles", "unknown request kind %q (want page or interpret)", h)
		}
	}
	for _, f := range m.HostFunctions {
		if !slices.Contains(HostFunctions, f) {
			return bad("host_functions", "unknown host function %q (known: %v)", f, HostFunctions)
		}
	}
	switch m.Encoding {
	case "":
		m.Encoding = "frame"
	case "frame", "json":
	default:
		return bad("encoding", "must be frame or json, got %q", m.Encoding)
	}
	if m.MemoryMaxPages != 0 && m.MemoryMB != 0 {
		return bad("memory_mb", "set memory_max_pages or memory_mb, not both")
	}
	if m.MemoryMB != 0 {
		m.MemoryMaxPages = m.MemoryMB * 16
	}
	switch {
	case m.MemoryMaxPages == 0:
		m.MemoryMaxPages = DefaultMemoryPages
	case m.MemoryMaxPages < 2 || m.MemoryMaxPages > 65536:
		return bad("memory_max_pages", "must be between 2 and 65536, got %d", m.MemoryMaxPages)
	}
	switch {
	case m.DeadlineMillis == 0:
		m.DeadlineMillis = DefaultDeadlineMillis
	case m.DeadlineMillis < 1 || m.DeadlineMillis > MaxDeadlineMillis:
		return bad("deadline_ms", "must be between 1 and %d, got %d", MaxDeadlineMillis, m.DeadlineMillis)
	}
	switch {
	case m.OutputMaxBytes == 0:
		m.OutputMaxBytes = DefaultOutputBytes
	case m.OutputMaxBytes < 64 || m.OutputMaxBytes > MaxOutputBytes:
		return bad("output_max_bytes", "must be between 64 and %d, got %d", MaxOutputBytes, m.OutputMaxBytes)
	}
	if len(m.SelfTest) == 0 || string(m.SelfTest) == "null" {
		return bad("self_test", "required: a sample request the host runs before swapping the actor in")
	}
	if _, err := m.selfTestRequest(); err != nil {
		return err
	}
	return nil
}

// Allows reports whether the manifest lists host function f.
func (m *Manifest) Allows(f string) bool { return slices.Contains(m.HostFunctions, f) }

// HandlesKind reports whether the actor answers requests of kind k.
func (m *Manifest) HandlesKind(k string) bool { return slices.Contains(m.Handles, k) }

func (m *Manifest) selfTestRequest() (frame.Request, error) {
	var r frame.Request
	dec := json.NewDecoder(bytes.NewReader(m.SelfTest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("manifest: field self_test: not a request in the JSON form of sdk/ABI.md 3.1: %v", err)
	}
	if r.Kind == "" {
		r.Kind = m.Handles[0]
	}
	if !m.HandlesKind(r.Kind) {
		return r, fmt.Errorf("manifest: field self_test: kind %q is not in handles %v", r.Kind, m.Handles)
	}
	if r.EventID == "" {
		r.EventID = "00000000-0000-4000-8000-000000000001"
	}
	if r.SessionID == "" {
		r.SessionID = "00000000-0000-4000-8000-000000000002"
	}
	if r.RequestID == "" {
		r.RequestID = "00000000-0000-4000-8000-000000000003"
	}
	if r.Voice == "" {
		r.Voice = m.Voice
	}
	if r.Orientation == "" {
		r.Orientation = "N"
	}
	if r.SectionID == 0 {
		r.SectionID = 1
	}
	if r.TSMillis == 0 {
		r.TSMillis = 1764806400000 // 2025-12-04T00:00:00Z
	}
	r.Actor = m.Name
	return r, nil
}
