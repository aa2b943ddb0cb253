// A small JSON reader for the JSON form of a request (sdk/ABI.md, section 3.1), used when an
// actor's manifest says "encoding": "json". It reads straight from linear memory, knows the
// request's fields and skips any other value. Responses are always written as frames (the ABI
// lets a guest answer in either encoding).

import { PageRef, Request } from "./types";
import { decodeUTF8 } from "./utf8";

class Reader {
  pos: usize;
  end: usize;
  ok: bool = true;

  constructor(ptr: usize, len: usize) {
    this.pos = ptr;
    this.end = ptr + len;
  }

  fail(): void {
    this.ok = false;
    this.pos = this.end;
  }

  @inline
  peek(): u32 {
    return this.pos < this.end ? <u32>load<u8>(this.pos) : 0;
  }

  ws(): void {
    while (this.pos < this.end) {
      let c = load<u8>(this.pos);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.pos++;
    }
  }

  expect(c: u32): bool {
    this.ws();
    if (this.peek() != c) {
      this.fail();
      return false;
    }
    this.pos++;
    return true;
  }

  /** After a value inside an object or array: true if another element follows (a comma was
   *  read), false at the closing bracket (consumed). */
  more(close: u32): bool {
    this.ws();
    let c = this.peek();
    if (c == 0x2c) {
      this.pos++;
      return true;
    }
    if (c == close) {
      this.pos++;
      return false;
    }
    this.fail();
    return false;
  }

  /** Opens an object or array; false if it is empty (the close was consumed). */
  open(openC: u32, close: u32): bool {
    if (!this.expect(openC)) return false;
    this.ws();
    if (this.peek() == close) {
      this.pos++;
      return false;
    }
    return true;
  }

  private hex4(): i32 {
    if (this.end - this.pos < 4) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      let c = <i32>load<u8>(this.pos++);
      let d: i32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      else return -1;
      v = (v << 4) | d;
    }
    return v;
  }

  string(): string {
    if (!this.expect(0x22)) return "";
    let start = this.pos;
    // fast path: no escapes
    while (this.pos < this.end) {
      let c = load<u8>(this.pos);
      if (c == 0x22) {
        let s = decodeUTF8(start, this.pos - start);
        this.pos++;
        return s;
      }
      if (c == 0x5c) break;
      this.pos++;
    }
    if (this.pos >= this.end) {
      this.fail();
      return "";
    }
    // slow path: an escaped string is never longer than its source
    let cap = this.end - start;
    let buf = heap.alloc(cap + 4);
    let w = buf;
    memory.copy(w, start, this.pos - start);
    w += this.pos - start;
    while (this.pos < this.end) {
      let c = <u32>load<u8>(this.pos++);
      if (c == 0x22) {
        let s = decodeUTF8(buf, w - buf);
        heap.free(buf);
        return s;
      }
      if (c != 0x5c) {
        store<u8>(w++, <u8>c);
        continue;
      }
      if (this.pos >= this.end) break;
      let e = <u32>load<u8>(this.pos++);
      let out: i32 = -1;
      switch (e) {
        case 0x22: out = 0x22; break;
        case 0x5c: out = 0x5c; break;
        case 0x2f: out = 0x2f; break;
        case 0x62: out = 0x08; break;
        case 0x66: out = 0x0c; break;
        case 0x6e: out = 0x0a; break;
        case 0x72: out = 0x0d; break;
        case 0x74: out = 0x09; break;
        case 0x75: {
          let cp = this.hex4();
          if (cp < 0) break;
          if (cp >= 0xd800 && cp < 0xdc00 && this.end - this.pos >= 6 && load<u8>(this.pos) == 0x5c && load<u8>(this.pos + 1) == 0x75) {
            let save = this.pos;
            this.pos += 2;
            let lo = this.hex4();
            if (lo >= 0xdc00 && lo < 0xe000) cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            else this.pos = save;
          }
          if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;
          // UTF-8 encode cp (at most 4 bytes; \uXXXX\uXXXX is 12 source bytes, so it fits)
          if (cp < 0x80) store<u8>(w++, <u8>cp);
          else if (cp < 0x800) {
            store<u8>(w++, <u8>(0xc0 | (cp >> 6)));
            store<u8>(w++, <u8>(0x80 | (cp & 0x3f)));
          } else if (cp < 0x10000) {
            store<u8>(w++, <u8>(0xe0 | (cp >> 12)));
            store<u8>(w++, <u8>(0x80 | ((cp >> 6) & 0x3f)));
            store<u8>(w++, <u8>(0x80 | (cp & 0x3f)));
          } else {
            store<u8>(w++, <u8>(0xf0 | (cp >> 18)));
            store<u8>(w++, <u8>(0x80 | ((cp >> 12) & 0x3f)));
            store<u8>(w++, <u8>(0x80 | ((cp >> 6) & 0x3f)));
            store<u8>(w++, <u8>(0x80 | (cp & 0x3f)));
          }
          continue;
        }
      }
      if (out < 0) break;
      store<u8>(w++, <u8>out);
    }
    heap.free(buf);
    this.fail();
    return "";
  }

  int(): i64 {
    this.ws();
    let neg = false;
    if (this.peek() == 0x2d) {
      neg = true;
      this.pos++;
    }
    let v: i64 = 0;
    let digits = 0;
    while (this.pos < this.end) {
      let c = <i64>load<u8>(this.pos);
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      digits++;
      this.pos++;
    }
    // a fraction or exponent is read and dropped
    while (this.pos < this.end) {
      let c = load<u8>(this.pos);
      if ((c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x65 || c == 0x45 || c == 0x2b || c == 0x2d) this.pos++;
      else break;
    }
    if (digits == 0) this.fail();
    return neg ? -v : v;
  }

  /** Skips any value. */
  skip(): void {
    this.ws();
    let c = this.peek();
    if (c == 0x22) {
      this.string();
    } else if (c == 0x7b) {
      if (this.open(0x7b, 0x7d)) {
        do {
          this.string();
          this.expect(0x3a);
          this.skip();
        } while (this.more(0x7d));
      }
    } else if (c == 0x5b) {
      if (this.open(0x5b, 0x5d)) {
        do this.skip(); while (this.more(0x5d));
      }
    } else if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.int();
    } else if (this.lit("true") || this.lit("false") || this.lit("null")) {
      // done
    } else {
      this.fail();
    }
  }

  lit(word: string): bool {
    let n = <usize>word.length;
    if (this.end - this.pos < n) return false;
    for (let i = 0; i < <i32>n; i++) {
      if (<u32>load<u8>(this.pos + <usize>i) != <u32>word.charCodeAt(i)) return false;
    }
    this.pos += n;
    return true;
  }

  /** true when the next value is null (consumed). */
  isNull(): bool {
    this.ws();
    return this.lit("null");
  }
}

function readPageRef(r: Reader): PageRef {
  let p = new PageRef();
  if (r.isNull()) return p;
  if (!r.open(0x7b, 0x7d)) return p;
  do {
    let k = r.string();
    r.expect(0x3a);
    if (r.isNull()) continue;
    if (k == "page_id") p.pageId = r.string();
    else if (k == "character_id") p.characterId = r.string();
    else if (k == "section_id") p.sectionId = <i32>r.int();
    else if (k == "title") p.title = r.string();
    else if (k == "text") p.text = r.string();
    else r.skip();
  } while (r.ok && r.more(0x7d));
  return p;
}

/** Decodes the JSON form of a request in [ptr, ptr+len). Returns null when it is malformed. */
export function decodeRequestJSON(ptr: usize, len: usize): Request | null {
  let r = new Reader(ptr, len);
  let q = new Request();
  if (r.open(0x7b, 0x7d)) {
    do {
      let k = r.string();
      r.expect(0x3a);
      if (!r.ok) break;
      if (r.isNull()) continue;
      if (k == "kind") q.kind = r.string();
      else if (k == "event_id") q.eventId = r.string();
      else if (k == "session_id") q.sessionId = r.string();
      else if (k == "ts_ms") q.tsMs = r.int();
      else if (k == "actor") q.actor = r.string();
      else if (k == "request_id") q.requestId = r.string();
      else if (k == "cause_event_id") q.causeEventId = r.string();
      else if (k == "cause_type") q.causeType = r.string();
      else if (k == "voice") q.voice = r.string();
      else if (k == "character_id") q.characterId = r.string();
      else if (k == "section_id") q.sectionId = <i32>r.int();
      else if (k == "symbol_id") q.symbolId = r.string();
      else if (k == "orientation") q.orientation = r.string();
      else if (k == "prompt") q.prompt = r.string();
      else if (k == "symbols") {
        if (r.open(0x5b, 0x5d)) {
          do q.symbols.push(r.string()); while (r.ok && r.more(0x5d));
        }
      } else if (k == "meaning") q.meaning = r.string();
      else if (k == "parent_page_id") q.parentPageId = r.string();
      else if (k == "parent_text") q.parentText = r.string();
      else if (k == "recent_pages") {
        if (r.open(0x5b, 0x5d)) {
          do q.recentPages.push(readPageRef(r)); while (r.ok && r.more(0x5d));
        }
      } else if (k == "attempt") q.attempt = <i32>r.int();
      else r.skip();
    } while (r.ok && r.more(0x7d));
  }
  return r.ok ? q : null;
}
