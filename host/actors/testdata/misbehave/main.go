// Command misbehave is a test guest for host/actors: it implements the ABI by hand (not through
// sdk/actor) so that it can break every rule on purpose. The request's prompt picks the mode.
package main

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/gibsey/gibsey/sdk/frame"
)

func main() {}

//go:wasmimport gibsey log
func gLog(level int32, ptr unsafe.Pointer, n int32)

//go:wasmimport gibsey retrieve
func gRetrieve(qPtr unsafe.Pointer, qLen int32, outPtr unsafe.Pointer, outCap int32) int32

//go:wasmimport gibsey state_get
func gStateGet(kPtr unsafe.Pointer, kLen int32, outPtr unsafe.Pointer, outCap int32) int32

//go:wasmimport gibsey state_put
func gStatePut(kPtr unsafe.Pointer, kLen int32, vPtr unsafe.Pointer, vLen int32) int32

//go:wasmimport gibsey now
func gNow() int64

//go:wasmimport gibsey random
func gRandom(ptr unsafe.Pointer, n int32) int32

var (
	reqBuf []byte
	resp   []byte
	hoard  [][]byte
	sink   int
)

//go:wasmexport gibsey_abi_version
func abiVersion() int32 { return 0 }

//go:wasmexport alloc
func alloc(size int32) int32 {
	if size < 1 {
		size = 1
	}
	reqBuf = make([]byte, size)
	return int32(uintptr(unsafe.Pointer(&reqBuf[0])))
}

func packed(b []byte) int64 {
	resp = b
	return int64(uint32(uintptr(unsafe.Pointer(&b[0]))))<<32 | int64(uint32(len(b)))
}

func page(title, text string) int64 {
	var e frame.Encoder
	e.AppendResponse(&frame.Response{Title: title, Text: text})
	return packed(e.Bytes())
}

func recurse(n int) int { return recurse(n+1) + 1 }

//go:wasmexport handle
func handle(ptr, n int32) int64 {
	var req frame.Request
	if err := frame.DecodeRequest(reqBuf[:n], &req); err != nil {
		var e frame.Encoder
		e.AppendResponse(&frame.Response{Error: err.Error()})
		return packed(e.Bytes())
	}
	switch req.Prompt {
	case "", "ok":
		return page("ok", "ok "+req.CharacterID+" "+req.Orientation+" "+req.EventID)
	case "loop":
		for {
			sink++
		}
	case "recurse":
		sink = recurse(0)
	case "panic":
		panic("misbehave: boom")
	case "trap":
		*(*int32)(unsafe.Pointer(uintptr(0xFFFFFFF0))) = 1
	case "alloc":
		for {
			hoard = append(hoard, make([]byte, 1<<20))
		}
	case "leak":
		hoard = append(hoard, make([]byte, 1<<20))
		return page("leak", "leaked "+strconv.Itoa(len(hoard))+" MiB")
	case "bigout":
		return page("big", strings.Repeat("a", 1<<20))
	case "badutf8":
		return page("bad", "bad \xff\xfe text")
	case "badframe":
		return packed([]byte{frame.Magic, frame.KindResponse, 2, 200, 'x'})
	case "garbage":
		return packed([]byte("hello, not a response"))
	case "badptr":
		resp = []byte{0}
		bad := uint64(0xFFFFFF00)
		return int64(bad<<32 | 100)
	case "error":
		var e frame.Encoder
		e.AppendResponse(&frame.Response{Error: "misbehave: I refuse"})
		return packed(e.Bytes())
	case "flood":
		msg := []byte("flood")
		for i := 0; i < 100000; i++ {
			gLog(1, unsafe.Pointer(&msg[0]), int32(len(msg)))
		}
		return page("flood", "flooded")
	case "retrieve", "smallbuf":
		var q frame.Encoder
		q.AppendRetrieveQuery(&frame.RetrieveQuery{Query: "x", CharacterID: req.CharacterID, SectionID: req.SectionID, K: 3})
		arg := q.Bytes()
		out := make([]byte, 1)
		if req.Prompt == "retrieve" {
			out = make([]byte, 1<<16)
		}
		m := gRetrieve(unsafe.Pointer(&arg[0]), int32(len(arg)), unsafe.Pointer(&out[0]), int32(len(out)))
		if m < 0 {
			return page("retrieve", "code "+strconv.Itoa(int(m)))
		}
		if int(m) > len(out) {
			out = make([]byte, m)
			m = gRetrieve(unsafe.Pointer(&arg[0]), int32(len(arg)), unsafe.Pointer(&out[0]), int32(len(out)))
		}
		ps, err := frame.DecodePassages(out[:m])
		if err != nil {
			return page("retrieve", "bad passages: "+err.Error())
		}
		var ids []string
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		return page("retrieve", "passages "+strings.Join(ids, ","))
	case "state":
		key := []byte("count")
		out := make([]byte, 16)
		c := 0
		if m := gStateGet(unsafe.Pointer(&key[0]), int32(len(key)), unsafe.Pointer(&out[0]), int32(len(out))); m >= 0 {
			c, _ = strconv.Atoi(string(out[:m]))
		}
		c++
		v := []byte(strconv.Itoa(c))
		gStatePut(unsafe.Pointer(&key[0]), int32(len(key)), unsafe.Pointer(&v[0]), int32(len(v)))
		return page("state", "count "+string(v))
	case "random":
		b := make([]byte, 16)
		gRandom(unsafe.Pointer(&b[0]), 16)
		const hex = "0123456789abcdef"
		s := make([]byte, 0, 32)
		for _, c := range b {
			s = append(s, hex[c>>4], hex[c&15])
		}
		return page("random", string(s)+" now "+strconv.FormatInt(gNow(), 10))
	}
	return page("unknown", "unknown mode "+req.Prompt)
}
