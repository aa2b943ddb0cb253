// The "frame" binary encoding of the Gibsey actor ABI (sdk/ABI.md, section 3.3):
//
//   message = 0xF7 kind body        kind: 'Q' request, 'R' response
//   body    = field*
//   field   = tag:uvarint len:uvarint value:len bytes
//
// Strings are UTF-8, ints are zig-zag uvarints filling their value, f32 are 4 bytes little
// endian, records are nested bodies, repeated fields repeat their tag.
//
// Encoder and Decoder work on raw (unmanaged) memory so that a request is decoded and a
// response encoded without garbage: the only managed objects made are the strings themselves.

import { decodeUTF8, encodeUTF8, utf8Length } from "./utf8";

/** First byte of every frame message. */
export const MAGIC: u8 = 0xf7;
/** Kind byte of a request. */
export const KIND_REQUEST: u8 = 0x51; // 'Q'
/** Kind byte of a response. */
export const KIND_RESPONSE: u8 = 0x52; // 'R'

/** Number of bytes the uvarint encoding of x takes. */
export function uvarintLen(x: u64): i32 {
  let n = 1;
  while (x >= 0x80) {
    x >>= 7;
    n++;
  }
  return n;
}

/** A growable byte buffer in unmanaged memory that fields are appended to. */
export class Encoder {
  ptr: usize = 0;
  cap: usize = 0;
  len: usize = 0;

  constructor(initialCap: usize = 256) {
    this.ptr = heap.alloc(initialCap);
    this.cap = initialCap;
  }

  /** Empties the buffer, keeping its memory. */
  reset(): void {
    this.len = 0;
  }

  /** Makes room for n more bytes. */
  @inline
  reserve(n: usize): void {
    if (this.len + n > this.cap) this.grow(n);
  }

  private grow(n: usize): void {
    let want = this.cap << 1;
    if (want < this.len + n) want = this.len + n + 64;
    this.ptr = heap.realloc(this.ptr, want);
    this.cap = want;
  }

  byte(b: u8): void {
    this.reserve(1);
    store<u8>(this.ptr + this.len, b);
    this.len++;
  }

  uvarint(x: u64): void {
    this.reserve(10);
    let p = this.ptr + this.len;
    while (x >= 0x80) {
      store<u8>(p++, <u8>(x | 0x80));
      x >>= 7;
    }
    store<u8>(p++, <u8>x);
    this.len = p - this.ptr;
  }

  /** Starts a message of the given kind (MAGIC, kind). */
  message(kind: u8): void {
    this.byte(MAGIC);
    this.byte(kind);
  }

  /** Appends a string field; an empty string is omitted (absent means empty). */
  string(tag: i32, s: string): void {
    if (s.length == 0) return;
    this.stringAlways(tag, s);
  }

  /** Appends a string field even when it is empty (for repeated strings). */
  stringAlways(tag: i32, s: string): void {
    // Invalid UTF-16 (a lone surrogate) becomes U+FFFD so that the host always gets UTF-8.
    let n = utf8Length(s);
    this.uvarint(<u64>tag);
    this.uvarint(<u64>n);
    this.reserve(n);
    this.len += encodeUTF8(s, this.ptr + this.len);
  }

  /** Appends raw bytes as a field (omitted when empty). */
  bytes(tag: i32, ptr: usize, n: usize): void {
    if (n == 0) return;
    this.uvarint(<u64>tag);
    this.uvarint(<u64>n);
    this.reserve(n);
    memory.copy(this.ptr + this.len, ptr, n);
    this.len += n;
  }

  /** Appends a zig-zag int field; zero is omitted. */
  int(tag: i32, n: i64): void {
    if (n == 0) return;
    let z = <u64>((n << 1) ^ (n >> 63));
    this.uvarint(<u64>tag);
    this.uvarint(<u64>uvarintLen(z));
    this.uvarint(z);
  }

  /** Appends a float32 field; zero is omitted. */
  f32(tag: i32, f: f32): void {
    if (f == 0) return;
    this.uvarint(<u64>tag);
    this.byte(4);
    this.reserve(4);
    store<f32>(this.ptr + this.len, f);
    this.len += 4;
  }

  /** Starts a nested record; pass the result to end() once its fields are appended. */
  begin(tag: i32): usize {
    this.uvarint(<u64>tag);
    this.byte(0); // one byte of length, widened by end() when the record is longer
    return this.len;
  }

  /** Closes the nested record started at mark. */
  end(mark: usize): void {
    let n = this.len - mark;
    let w = <usize>uvarintLen(<u64>n);
    if (w > 1) {
      this.reserve(w - 1);
      memory.copy(this.ptr + mark + w - 1, this.ptr + mark, n);
      this.len += w - 1;
    }
    let p = this.ptr + mark - 1;
    let x = <u64>n;
    while (x >= 0x80) {
      store<u8>(p++, <u8>(x | 0x80));
      x >>= 7;
    }
    store<u8>(p, <u8>x);
  }
}

/** Reads the fields of a body in [ptr, end). After next() returns false, ok says whether the
 *  body ended cleanly (true) or was malformed (false). */
export class Decoder {
  pos: usize;
  end: usize;
  ok: bool = true;
  /** The current field (valid after next() returned true). */
  tag: i32 = 0;
  valPtr: usize = 0;
  valLen: usize = 0;

  constructor(ptr: usize, len: usize) {
    this.pos = ptr;
    this.end = ptr + len;
  }

  private uvarint(): u64 {
    let x: u64 = 0;
    let s: u64 = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) break;
      let c = <u64>load<u8>(this.pos++);
      if (c < 0x80) {
        if (i == 9 && c > 1) break;
        return x | (c << s);
      }
      x |= (c & 0x7f) << s;
      s += 7;
    }
    this.ok = false;
    return 0;
  }

  /** Advances to the next field; false at the end of the body or on a malformed field. */
  next(): bool {
    if (!this.ok || this.pos >= this.end) return false;
    let t = this.uvarint();
    if (!this.ok || t == 0 || t > (1 << 20)) {
      this.ok = false;
      return false;
    }
    let l = this.uvarint();
    if (!this.ok || l > <u64>(this.end - this.pos)) {
      this.ok = false;
      return false;
    }
    this.tag = <i32>t;
    this.valPtr = this.pos;
    this.valLen = <usize>l;
    this.pos += <usize>l;
    return true;
  }

  /** The current value as a string (its UTF-8 bytes decoded). */
  string(): string {
    return decodeUTF8(this.valPtr, this.valLen);
  }

  /** The current value as a zig-zag int; a malformed int marks the decoder not ok. */
  int(): i64 {
    let x: u64 = 0;
    let s: u64 = 0;
    let p = this.valPtr;
    let end = p + this.valLen;
    for (let i = 0; p < end && i < 10; i++) {
      let c = <u64>load<u8>(p++);
      if (c < 0x80) {
        if (p != end) break;
        x |= c << s;
        return <i64>(x >> 1) ^ -<i64>(x & 1);
      }
      x |= (c & 0x7f) << s;
      s += 7;
    }
    this.ok = false;
    return 0;
  }

  /** The current value as a float32. */
  f32(): f32 {
    if (this.valLen != 4) {
      this.ok = false;
      return 0;
    }
    return load<f32>(this.valPtr);
  }

  /** A decoder over the current value (a nested record). */
  record(): Decoder {
    return new Decoder(this.valPtr, this.valLen);
  }
}
