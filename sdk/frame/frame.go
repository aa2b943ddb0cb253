// Package frame is the binary "frame" encoding of the Gibsey actor ABI (sdk/ABI.md, section 3.3):
// a magic byte, a kind byte, then fields of (tag uvarint, length uvarint, value). It uses no
// reflection and allocates little, so that WebAssembly guests spend their time on their own work,
// not on encoding. Both sides of the boundary use it: the host (host/actors) and the Go SDK
// (sdk/actor).
package frame

import (
	"errors"
	"math"
	"strconv"
)

// Magic is the first byte of every frame message. It never starts valid UTF-8 (nor JSON).
const Magic = 0xF7

// Message kinds (the byte after Magic).
const (
	KindRequest  = 'Q'
	KindResponse = 'R'
)

// ErrMalformed is returned for any frame that cannot be decoded.
var ErrMalformed = errors.New("frame: malformed")

// Encoder appends fields to a buffer. The zero value is ready to use for a body; call Message
// first to start a whole message.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an encoder that appends to buf[:0] (reusing its capacity).
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf[:0]} }

// Reset empties the encoder, keeping its buffer.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// Message starts a message of the given kind (writes Magic and kind).
func (e *Encoder) Message(kind byte) { e.buf = append(e.buf, Magic, kind) }

// Bytes returns the encoded bytes (aliasing the encoder's buffer).
func (e *Encoder) Bytes() []byte { return e.buf }

// Len is the number of bytes encoded so far.
func (e *Encoder) Len() int { return len(e.buf) }

// AppendUvarint appends x as a base-128 varint.
func AppendUvarint(b []byte, x uint64) []byte {
	if x < 0x80 { // no loop for the common sizes (see Uvarint)
		return append(b, byte(x))
	}
	if x < 0x4000 {
		return append(b, byte(x)|0x80, byte(x>>7))
	}
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// Uvarint decodes a varint from b, returning the value and the number of bytes read (0 when b
// is too short or the value overflows 64 bits).
func Uvarint(b []byte) (uint64, int) {
	// fast paths without a loop: inside a wasm guest every loop iteration costs a deadline
	// check, and nearly every tag and length fits in one or two bytes
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	if len(b) > 1 && b[1] < 0x80 {
		return uint64(b[0]&0x7f) | uint64(b[1])<<7, 2
	}
	var x uint64
	var s uint
	for i, c := range b {
		if i == 10 {
			return 0, 0
		}
		if c < 0x80 {
			if i == 9 && c > 1 {
				return 0, 0
			}
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}

func zigzag(n int64) uint64   { return uint64(n<<1) ^ uint64(n>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// String appends a string field; empty strings are omitted (absent = zero value).
func (e *Encoder) String(tag int, s string) {
	if s == "" {
		return
	}
	e.buf = AppendUvarint(e.buf, uint64(tag))
	e.buf = AppendUvarint(e.buf, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// StringAlways appends a string field even when it is empty (for repeated strings).
func (e *Encoder) StringAlways(tag int, s string) {
	e.buf = AppendUvarint(e.buf, uint64(tag))
	e.buf = AppendUvarint(e.buf, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// Raw appends a field with raw bytes as its value (omitted when empty).
func (e *Encoder) Raw(tag int, b []byte) {
	if len(b) == 0 {
		return
	}
	e.buf = AppendUvarint(e.buf, uint64(tag))
	e.buf = AppendUvarint(e.buf, uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// Int appends a zig-zag int field; zero is omitted.
func (e *Encoder) Int(tag int, n int64) {
	if n == 0 {
		return
	}
	z := zigzag(n)
	e.buf = AppendUvarint(e.buf, uint64(tag))
	e.buf = AppendUvarint(e.buf, uint64(uvarintLen(z)))
	e.buf = AppendUvarint(e.buf, z)
}

// F32 appends a float32 field (4 bytes little-endian); zero is omitted.
func (e *Encoder) F32(tag int, f float32) {
	if f == 0 {
		return
	}
	u := math.Float32bits(f)
	e.buf = AppendUvarint(e.buf, uint64(tag))
	e.buf = append(e.buf, 4, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
}

// Begin starts a nested record field; pass its result to End once the record's fields are
// appended.
func (e *Encoder) Begin(tag int) int {
	e.buf = AppendUvarint(e.buf, uint64(tag))
	e.buf = append(e.buf, 0) // one byte of length, widened by End if needed
	return len(e.buf)
}

// End closes the nested record started at mark.
func (e *Encoder) End(mark int) {
	n := len(e.buf) - mark
	w := uvarintLen(uint64(n))
	if w > 1 {
		// widen the length slot: shift the record right by w-1 bytes
		for i := 0; i < w-1; i++ {
			e.buf = append(e.buf, 0)
		}
		copy(e.buf[mark+w-1:], e.buf[mark:mark+n])
	}
	AppendUvarint(e.buf[mark-1:mark-1], uint64(n))
}

// Decoder reads fields of a body.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder decodes the fields of body.
func NewDecoder(body []byte) Decoder { return Decoder{b: body} }

// Body checks that msg is a frame message of the given kind and returns its body.
func Body(msg []byte, kind byte) ([]byte, error) {
	if len(msg) < 2 || msg[0] != Magic {
		return nil, errors.New("frame: not a frame message (first byte is not 0xF7)")
	}
	if msg[1] != kind {
		return nil, errors.New("frame: message kind " + strconv.QuoteRune(rune(msg[1])) + ", want " + strconv.QuoteRune(rune(kind)))
	}
	return msg[2:], nil
}

// Next returns the next field. ok is false at the end of the body or on a malformed field (then
// Err says why).
func (d *Decoder) Next() (tag int, val []byte, ok bool) {
	if d.err != nil || len(d.b) == 0 {
		return 0, nil, false
	}
	t, n := Uvarint(d.b)
	if n == 0 || t == 0 || t > 1<<20 {
		d.err = ErrMalformed
		return 0, nil, false
	}
	d.b = d.b[n:]
	l, m := Uvarint(d.b)
	if m == 0 || l > uint64(len(d.b)-m) {
		d.err = ErrMalformed
		return 0, nil, false
	}
	val = d.b[m : m+int(l)]
	d.b = d.b[m+int(l):]
	return int(t), val, true
}

// Err is the decoding error, if any.
func (d *Decoder) Err() error { return d.err }

// Fail records a malformed value (e.g. a bad int) so that Err reports it.
func (d *Decoder) Fail() {
	if d.err == nil {
		d.err = ErrMalformed
	}
}

// Int decodes a zig-zag int value; a malformed value fails the decoder.
func (d *Decoder) Int(val []byte) int64 {
	u, n := Uvarint(val)
	if n == 0 || n != len(val) {
		d.Fail()
		return 0
	}
	return unzigzag(u)
}

// F32 decodes a float32 value.
func (d *Decoder) F32(val []byte) float32 {
	if len(val) != 4 {
		d.Fail()
		return 0
	}
	return math.Float32frombits(uint32(val[0]) | uint32(val[1])<<8 | uint32(val[2])<<16 | uint32(val[3])<<24)
}
