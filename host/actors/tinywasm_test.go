package actors

import (
	"github.com/gibsey/gibsey/sdk/frame"
)

// tiny assembles small hand-written guests (no toolchain): they instantiate in microseconds,
// so the tests that need thousands of installs or a million calls use them.
type tiny struct {
	abi        int32  // what gibsey_abi_version returns
	omit       string // an export to leave out
	response   []byte // the response handle returns (a frame unless set otherwise)
	growEvery  int32  // grow memory by one page every N calls (trap if the grow fails)
	handleBody string // "loop", "recurse" or "" (answer)
	allocSig   bool   // give alloc the wrong signature
}

func uleb(b []byte, x uint64) []byte {
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}

func sleb(b []byte, x int64) []byte {
	for {
		c := byte(x & 0x7f)
		x >>= 7
		if (x == 0 && c&0x40 == 0) || (x == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func section(id byte, body []byte) []byte {
	out := []byte{id}
	out = uleb(out, uint64(len(body)))
	return append(out, body...)
}

func vec(items ...[]byte) []byte {
	out := uleb(nil, uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func name(s string) []byte { return append(uleb(nil, uint64(len(s))), s...) }

func tinyPage(title, text string) []byte {
	var e frame.Encoder
	e.AppendResponse(&frame.Response{Title: title, Text: text})
	return append([]byte(nil), e.Bytes()...)
}

func (t tiny) wasm() []byte {
	const (
		i32, i64 = 0x7f, 0x7e
	)
	resp := t.response
	if resp == nil {
		resp = tinyPage("tiny", "tiny page")
	}
	// types: 0 () -> i32, 1 (i32) -> i32, 2 (i32 i32) -> i64, 3 (i64) -> i32
	types := vec(
		[]byte{0x60, 0, 1, i32},
		[]byte{0x60, 1, i32, 1, i32},
		[]byte{0x60, 2, i32, i32, 1, i64},
		[]byte{0x60, 1, i64, 1, i32},
	)
	allocType := byte(1)
	if t.allocSig {
		allocType = 3
	}
	funcs := vec([]byte{0}, []byte{allocType}, []byte{2})
	mem := vec([]byte{0x00, 2})                   // min 2 pages, no max
	globals := vec([]byte{i32, 1, 0x41, 0, 0x0b}) // mutable i32 = 0
	exports := [][]byte{}
	add := func(n string, kind byte, idx byte) {
		if n != t.omit {
			exports = append(exports, append(name(n), kind, idx))
		}
	}
	add("memory", 2, 0)
	add("gibsey_abi_version", 0, 0)
	add("alloc", 0, 1)
	add("handle", 0, 2)

	body := func(code ...byte) []byte {
		b := append([]byte{0}, code...) // no locals
		b = append(b, 0x0b)
		return append(uleb(nil, uint64(len(b))), b...)
	}
	abi := body(sleb([]byte{0x41}, int64(t.abi))...)
	alloc := body(0x41, 0x80, 0x20) // i32.const 4096
	var h []byte
	switch t.handleBody {
	case "loop":
		h = []byte{0x03, 0x40, 0x0c, 0x00, 0x0b, 0x00} // loop br 0 end; unreachable
	case "recurse":
		h = []byte{0x20, 0, 0x20, 1, 0x10, 2} // call handle(ptr, len) forever
	default:
		// counter++
		h = []byte{0x23, 0, 0x41, 1, 0x6a, 0x24, 0}
		if t.growEvery > 0 {
			// if counter % growEvery == 0 { if memory.grow(1) == -1 { unreachable } }
			h = append(h, 0x23, 0)
			h = sleb(append(h, 0x41), int64(t.growEvery))
			h = append(h, 0x70, 0x45, 0x04, 0x40,
				0x41, 1, 0x40, 0x00, 0x41, 0x7f, 0x46, 0x04, 0x40, 0x00, 0x0b,
				0x0b)
		}
		h = sleb(append(h, 0x42), int64(256)<<32|int64(len(resp)))
	}
	handle := body(h...)
	code := vec(abi, alloc, handle)
	data := vec(append(append([]byte{0, 0x41}, sleb(nil, 256)...), append([]byte{0x0b}, append(uleb(nil, uint64(len(resp))), resp...)...)...))

	out := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	out = append(out, section(1, types)...)
	out = append(out, section(3, funcs)...)
	out = append(out, section(5, mem)...)
	out = append(out, section(6, globals)...)
	out = append(out, section(7, vec(exports...))...)
	out = append(out, section(10, code)...)
	out = append(out, section(11, data)...)
	return out
}

func tinyManifest(name, voice, version string) Manifest {
	return Manifest{
		Name: name, Version: version, Voice: voice, Handles: []string{KindPage},
		MemoryMaxPages: 64, DeadlineMillis: MaxDeadlineMillis, OutputMaxBytes: 4096, // generous: a loaded CI machine stalls
		SelfTest: []byte(`{"character_id":"london-fox","section_id":2,"orientation":"N"}`),
	}
}
