//go:build wasip1

package actor

import (
	"runtime/debug"
	"unsafe"

	"github.com/gibsey/gibsey/sdk/frame"
)

// The guest side of the ABI: exports the host calls, imports of module "gibsey".

//go:wasmimport gibsey log
func gLog(level int32, ptr unsafe.Pointer, n int32)

//go:wasmimport gibsey retrieve
func gRetrieve(qPtr unsafe.Pointer, qLen int32, outPtr unsafe.Pointer, outCap int32) int32

//go:wasmimport gibsey corpus_page
func gCorpusPage(n int32, outPtr unsafe.Pointer, outCap int32) int32

//go:wasmimport gibsey state_get
func gStateGet(kPtr unsafe.Pointer, kLen int32, outPtr unsafe.Pointer, outCap int32) int32

//go:wasmimport gibsey state_put
func gStatePut(kPtr unsafe.Pointer, kLen int32, vPtr unsafe.Pointer, vLen int32) int32

//go:wasmimport gibsey now
func gNow() int64

//go:wasmimport gibsey random
func gRandom(ptr unsafe.Pointer, n int32) int32

//go:wasmimport gibsey generate
func gGenerate(rPtr unsafe.Pointer, rLen int32, outPtr unsafe.Pointer, outCap int32) int32

var (
	reqBuf  []byte        // the request block handed out by alloc
	respEnc frame.Encoder // the response, alive until the next call
	outBuf  = make([]byte, 4096)
	argEnc  frame.Encoder // arguments of host calls
)

func init() {
	// Inside the sandbox a garbage collection is slow (every loop iteration pays the host's
	// deadline check) and an actor's live heap is small: collect less often, trading a few MiB
	// of linear memory for most of the GC time.
	debug.SetGCPercent(400)
}

//go:wasmexport gibsey_abi_version
func gibseyABIVersion() int32 { return ABIVersion }

//go:wasmexport alloc
func gibseyAlloc(size int32) int32 {
	if size < 1 {
		size = 1
	}
	// one block, reused while it is large enough: the request's strings share it
	// (frame.DecodeRequestNoCopy), which is why a Request's strings are valid only during the
	// call. A fresh block per call would cost an allocation (and GC work) per request.
	if int(size) > cap(reqBuf) {
		reqBuf = make([]byte, size+size/4)
	}
	reqBuf = reqBuf[:size]
	return int32(uintptr(unsafe.Pointer(&reqBuf[0])))
}

//go:wasmexport handle
func gibseyHandle(ptr, n int32) int64 {
	if len(reqBuf) == 0 || n < 0 || int(n) > len(reqBuf) || ptr != int32(uintptr(unsafe.Pointer(&reqBuf[0]))) {
		// the request must be in the block alloc handed out (sdk/ABI.md section 1)
		respEnc.Reset()
		respEnc.AppendResponse(&frame.Response{Error: "actor: handle called with a block alloc did not hand out"})
	} else {
		dispatch(reqBuf[:n], &respEnc)
	}
	out := respEnc.Bytes()
	return int64(uint32(uintptr(unsafe.Pointer(&out[0]))))<<32 | int64(uint32(len(out)))
}

func ptrOf(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// callOut runs a host function that writes into (out, cap), growing outBuf and calling again
// when the result is larger (the host keeps the pending result, ABI.md section 4).
func callOut(f func(out unsafe.Pointer, cap int32) int32) ([]byte, error) {
	for i := 0; i < 3; i++ {
		n := f(unsafe.Pointer(&outBuf[0]), int32(len(outBuf)))
		if n < 0 {
			return nil, codeErr(n)
		}
		if int(n) <= len(outBuf) {
			return outBuf[:n], nil
		}
		outBuf = make([]byte, n)
	}
	return nil, ErrHost
}

func hostLog(level int32, msg string) {
	b := unsafe.StringData(msg)
	gLog(level, unsafe.Pointer(b), int32(len(msg)))
}

func hostRetrieve(q frame.RetrieveQuery) ([]Passage, error) {
	argEnc.Reset()
	argEnc.AppendRetrieveQuery(&q)
	arg := argEnc.Bytes()
	out, err := callOut(func(o unsafe.Pointer, c int32) int32 {
		return gRetrieve(ptrOf(arg), int32(len(arg)), o, c)
	})
	if err != nil {
		return nil, err
	}
	return frame.DecodePassages(out)
}

func hostCorpusPage(n int) (NovelPage, error) {
	var p NovelPage
	out, err := callOut(func(o unsafe.Pointer, c int32) int32 { return gCorpusPage(int32(n), o, c) })
	if err != nil {
		return p, err
	}
	err = frame.DecodeCorpusPage(out, &p)
	return p, err
}

func hostStateGet(key string) ([]byte, error) {
	k := []byte(key)
	out, err := callOut(func(o unsafe.Pointer, c int32) int32 {
		return gStateGet(ptrOf(k), int32(len(k)), o, c)
	})
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), out...), nil
}

func hostStatePut(key string, v []byte) error {
	k := []byte(key)
	if n := gStatePut(ptrOf(k), int32(len(k)), ptrOf(v), int32(len(v))); n < 0 {
		return codeErr(n)
	}
	return nil
}

func hostNow() int64 { return gNow() }

func hostRandom(b []byte) {
	if len(b) > 0 {
		gRandom(unsafe.Pointer(&b[0]), int32(len(b)))
	}
}

func hostGenerate(g frame.GenerateRequest) (string, error) {
	argEnc.Reset()
	argEnc.AppendGenerateRequest(&g)
	arg := argEnc.Bytes()
	out, err := callOut(func(o unsafe.Pointer, c int32) int32 {
		return gGenerate(ptrOf(arg), int32(len(arg)), o, c)
	})
	if err != nil {
		return "", err
	}
	return string(out), nil
}
