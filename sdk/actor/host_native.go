//go:build !wasip1

package actor

import (
	"sync"

	"github.com/gibsey/gibsey/sdk/frame"
)

// NativeHost stands in for the Gibsey host when a voice is built natively (for unit tests).
// sdk/actor/actortest implements it; authors normally use actortest rather than this.
type NativeHost interface {
	Log(level int, msg string)
	Retrieve(q frame.RetrieveQuery) ([]Passage, error)
	CorpusPage(n int) (NovelPage, error)
	StateGet(key string) ([]byte, error) // ErrNotFound when unset
	StatePut(key string, v []byte) error
	Now() int64
	Random(p []byte)
	Generate(g frame.GenerateRequest) (string, error)
}

var (
	nativeMu   sync.Mutex // one call at a time, as in a wasm instance
	nativeHost NativeHost
)

// HandleNative runs the registered voice natively against host h: req is a frame request
// message; the result is the frame response message. It serializes calls (the SDK's per-call
// state is global, as in a wasm instance). For sdk/actor/actortest.
func HandleNative(h NativeHost, req []byte) []byte {
	nativeMu.Lock()
	defer nativeMu.Unlock()
	nativeHost = h
	defer func() { nativeHost = nil }()
	var enc frame.Encoder
	dispatch(append([]byte(nil), req...), &enc) // the request's strings share this copy
	return append([]byte(nil), enc.Bytes()...)
}

func host() NativeHost {
	if nativeHost == nil {
		panic("actor: host function called outside a call (use sdk/actor/actortest to run a voice natively)")
	}
	return nativeHost
}

func hostLog(level int32, msg string) { host().Log(int(level), msg) }
func hostRetrieve(q frame.RetrieveQuery) ([]Passage, error) {
	return host().Retrieve(q)
}
func hostCorpusPage(n int) (NovelPage, error)              { return host().CorpusPage(n) }
func hostStateGet(key string) ([]byte, error)              { return host().StateGet(key) }
func hostStatePut(key string, v []byte) error              { return host().StatePut(key, v) }
func hostNow() int64                                       { return host().Now() }
func hostRandom(b []byte)                                  { host().Random(b) }
func hostGenerate(g frame.GenerateRequest) (string, error) { return host().Generate(g) }
