package benchcmp

// RawCopyModule is the boundary baseline: a hand-assembled wasm module that speaks the ABI's
// calling convention with nothing else. It exports memory (4 pages), alloc (always offset
// 1024) and handle(ptr, len), which copies the request once with memory.copy to ptr+len and
// returns that copy as the response. Calling it costs the copy in, the call and the copy out.
func RawCopyModule() []byte {
	uleb := func(b []byte, x uint32) []byte {
		for x >= 0x80 {
			b = append(b, byte(x)|0x80)
			x >>= 7
		}
		return append(b, byte(x))
	}
	section := func(b []byte, id byte, content []byte) []byte {
		b = append(b, id)
		b = uleb(b, uint32(len(content)))
		return append(b, content...)
	}
	name := func(b []byte, s string) []byte {
		b = uleb(b, uint32(len(s)))
		return append(b, s...)
	}
	const (
		i32 = 0x7f
		i64 = 0x7e
	)
	m := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	// types: 0 = (i32) -> i32, 1 = (i32, i32) -> i64, 2 = () -> i32
	m = section(m, 1, []byte{3,
		0x60, 1, i32, 1, i32,
		0x60, 2, i32, i32, 1, i64,
		0x60, 0, 1, i32})
	// functions: alloc (type 0), handle (type 1), gibsey_abi_version (type 2)
	m = section(m, 3, []byte{3, 0, 1, 2})
	// memory: one, min 4 pages, no max
	m = section(m, 5, []byte{1, 0x00, 4})
	var ex []byte
	ex = append(ex, 4)
	ex = append(name(ex, "memory"), 0x02, 0)
	ex = append(name(ex, "alloc"), 0x00, 0)
	ex = append(name(ex, "handle"), 0x00, 1)
	ex = append(name(ex, "gibsey_abi_version"), 0x00, 2)
	m = section(m, 7, ex)
	alloc := []byte{0, 0x41, 0x80, 0x08, 0x0b} // no locals; i32.const 1024; end
	handle := []byte{0,
		0x20, 0, 0x20, 1, 0x6a, // dst = ptr + len
		0x20, 0, // src = ptr
		0x20, 1, // n = len
		0xfc, 0x0a, 0, 0, // memory.copy
		0x20, 0, 0x20, 1, 0x6a, 0xad, // i64(ptr+len)
		0x42, 32, 0x86, // << 32
		0x20, 1, 0xad, 0x84, // | i64(len)
		0x0b}
	version := []byte{0, 0x41, 0, 0x0b} // i32.const 0
	var code []byte
	code = append(code, 3)
	for _, body := range [][]byte{alloc, handle, version} {
		code = uleb(code, uint32(len(body)))
		code = append(code, body...)
	}
	return section(m, 10, code)
}
