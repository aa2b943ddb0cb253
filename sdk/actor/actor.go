// Package actor is the Go SDK for Gibsey story actors. An author writes a voice as one small
// function over typed structs and registers it from init:
//
//	package main
//
//	import "github.com/gibsey/gibsey/sdk/actor"
//
//	func main() {}
//
//	func init() {
//		actor.Page(func(req *actor.Request) (*actor.Response, error) {
//			ps, err := actor.Retrieve(req.Meaning, req.CharacterID, req.SectionID, 3)
//			if err != nil {
//				return nil, err
//			}
//			return &actor.Response{Title: "…", Text: ps[0].Text}, nil
//		})
//	}
//
// and builds it with the standard toolchain:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o myvoice.wasm .
//
// The SDK hides the ABI (sdk/ABI.md): memory allocation, the frame encoding, and the host
// functions, which it wraps as Retrieve, CorpusPage, State/SetState, Now, Rand, Generate and Log.
// Everything a voice sees comes from the request or the host, so the same event always makes
// the same page. Built natively (not for wasm), the package runs against a fake host; see
// sdk/actor/actortest for unit-testing a voice without WebAssembly.
package actor

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"
	"unsafe"

	"github.com/gibsey/gibsey/sdk/frame"
)

// ABIVersion is the ABI version this SDK implements (gibsey_abi_version).
const ABIVersion = 0

// Request is what the host asks: the event's envelope fields (EventID, SessionID, TSMillis) and
// the page request (character, section, orientation, symbol, meaning, recent pages...). Kind is
// "page" or "interpret".
//
// A Request and everything in it (its strings, Symbols, RecentPages) is valid only until the
// voice function returns: the SDK decodes it without copying, over memory it reuses for the
// next request. To keep a value beyond the call, copy it (strings.Clone, slices.Clone) or
// store it with SetState. A Response may share the request's strings (the SDK encodes it
// before the memory is reused).
type Request = frame.Request

// PageRef is an earlier page of the reader's session (Request.RecentPages).
type PageRef = frame.PageRef

// Response is a page: a title, the text, and the sources it drew on.
type Response = frame.Response

// Source names a passage a page drew on (its provenance).
type Source = frame.Source

// Passage is a passage of the RAG index (a piece of a corpus page, or of an earlier generated
// page when PageNumber is 0).
type Passage = frame.Passage

// NovelPage is a page of the novel.
type NovelPage = frame.CorpusPage

// Errors of host functions.
var (
	ErrNotFound    = errors.New("actor: not found")
	ErrDenied      = errors.New("actor: host function not allowed (add it to the manifest's host_functions)")
	ErrBadArgument = errors.New("actor: bad argument to a host function")
	ErrHost        = errors.New("actor: the host failed")
	ErrTooLarge    = errors.New("actor: over a host limit")
	ErrUnavailable = errors.New("actor: not configured on this host")
)

func codeErr(code int32) error {
	switch code {
	case -1:
		return ErrNotFound
	case -2:
		return ErrDenied
	case -3:
		return ErrBadArgument
	case -4:
		return ErrHost
	case -5:
		return ErrTooLarge
	case -6:
		return ErrUnavailable
	}
	return errors.New("actor: host error code " + strconv.Itoa(int(code)))
}

var (
	pageFn      func(*Request) (*Response, error)
	interpretFn func(*Request) (string, error)
)

// Page registers the function that writes a page (request kind "page"). Call it from init.
func Page(fn func(req *Request) (*Response, error)) { pageFn = fn }

// Interpret registers the function that says what a symbol means in an orientation (request
// kind "interpret"). Call it from init.
func Interpret(fn func(req *Request) (meaning string, err error)) { interpretFn = fn }

// per-call state, reset by dispatch
var (
	callRand *rand.Rand
	// callReq is the request being handled: reused between calls, with its Symbols and
	// RecentPages capacity, so that decoding a request allocates nothing
	callReq Request
)

// dispatch decodes one request (a frame, or the JSON form when its first byte is '{'), runs
// the registered function and encodes the response into enc. The request's strings share
// req's memory (no copy): req must not change until the function returns.
func dispatch(req []byte, enc *frame.Encoder) {
	enc.Reset()
	callRand = nil
	r := &callReq
	*r = Request{Symbols: r.Symbols[:0], RecentPages: r.RecentPages[:0]}
	var resp Response
	var err error
	if len(req) > 0 && req[0] == '{' {
		err = decodeJSONRequest(req, r)
	} else {
		err = frame.DecodeRequestNoCopy(req, r)
	}
	if err != nil {
		resp.Error = err.Error()
		enc.AppendResponse(&resp)
		return
	}
	switch {
	case isKind(r.Kind, kindPage):
		if pageFn == nil {
			resp.Error = "actor: this actor has no Page function"
			break
		}
		p, err := pageFn(r)
		switch {
		case err != nil:
			resp.Error = err.Error()
		case p == nil:
			resp.Error = "actor: Page returned no page"
		case p.Error != "":
			resp = *p
			resp.Error = ""
		default:
			enc.AppendResponse(p)
			return
		}
	case isKind(r.Kind, kindInterpret):
		if interpretFn == nil {
			resp.Error = "actor: this actor has no Interpret function"
			break
		}
		m, err := interpretFn(r)
		if err != nil {
			resp.Error = err.Error()
		} else {
			resp.Meaning = m
		}
	default:
		resp.Error = "actor: unknown request kind " + strconv.Quote(r.Kind)
	}
	enc.AppendResponse(&resp)
}

const (
	kindPage      = "page"
	kindInterpret = "interpret"
)

// isKind is s == kind, compared 4 bytes at a time: inside a wasm guest a string comparison
// through the runtime costs a loop (and a deadline check per iteration).
func isKind(s, kind string) bool {
	if len(s) != len(kind) || len(s) < 4 {
		return s == kind
	}
	a, b := unsafe.Pointer(unsafe.StringData(s)), unsafe.Pointer(unsafe.StringData(kind))
	n := uintptr(len(s))
	// the first and last 4 bytes cover both "page" and "interpret" (9 bytes: overlapping
	// words cover it when n <= 8; longer kinds fall back to ==)
	if n > 8 {
		return *(*uint32)(a) == *(*uint32)(b) && *(*uint32)(unsafe.Add(a, 4)) == *(*uint32)(unsafe.Add(b, 4)) &&
			*(*uint32)(unsafe.Add(a, n-4)) == *(*uint32)(unsafe.Add(b, n-4)) && (n <= 12 || s == kind)
	}
	return *(*uint32)(a) == *(*uint32)(b) && *(*uint32)(unsafe.Add(a, n-4)) == *(*uint32)(unsafe.Add(b, n-4))
}

// decodeJSONRequest decodes the JSON request form (ABI.md 3.1), for actors whose manifest
// says "encoding": "json".
func decodeJSONRequest(req []byte, r *Request) error {
	if err := json.Unmarshal(req, r); err != nil {
		return errors.New("actor: malformed JSON request: " + err.Error())
	}
	return nil
}

// Retrieve returns up to k passages of the RAG index nearest to query, restricted to a
// character and section when they are set (k <= 0 means 5).
func Retrieve(query, character string, section, k int) ([]Passage, error) {
	return hostRetrieve(frame.RetrieveQuery{Query: query, CharacterID: character, SectionID: section, K: k})
}

// CorpusPage returns the novel's page number n (ErrNotFound when there is none).
func CorpusPage(n int) (NovelPage, error) { return hostCorpusPage(n) }

// State returns this actor's value for key in the reader's session; ok is false when unset.
func State(key string) (value []byte, ok bool, err error) {
	v, err := hostStateGet(key)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// SetState sets this actor's value for key in the reader's session.
func SetState(key string, value []byte) error { return hostStatePut(key, value) }

// Now is the event's own time (never the wall clock).
func Now() time.Time { return time.UnixMilli(hostNow()).UTC() }

// Rand returns the call's random source, seeded from the event: the same event gives the same
// numbers. It is valid for the current call only.
func Rand() *rand.Rand {
	if callRand == nil {
		var b [16]byte
		hostRandom(b[:])
		s1 := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 | uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		s2 := uint64(b[8]) | uint64(b[9])<<8 | uint64(b[10])<<16 | uint64(b[11])<<24 | uint64(b[12])<<32 | uint64(b[13])<<40 | uint64(b[14])<<48 | uint64(b[15])<<56
		callRand = rand.New(rand.NewPCG(s1, s2))
	}
	return callRand
}

// Generate asks the host's text generator (an OpenAI-compatible endpoint) for text from prompt
// and passages. ErrUnavailable means none is configured: compose the page yourself.
func Generate(prompt string, passages []Passage) (string, error) {
	return hostGenerate(frame.GenerateRequest{Prompt: prompt, Passages: passages})
}

// Log levels.
const (
	LevelDebug = 0
	LevelInfo  = 1
	LevelWarn  = 2
	LevelError = 3
)

// Log writes a line to the host's log at info level (rate-limited by the host).
func Log(msg string) { hostLog(LevelInfo, msg) }

// LogAt writes a line at a level (LevelDebug..LevelError).
func LogAt(level int, msg string) { hostLog(int32(level), msg) }
