// UTF-8 <-> AssemblyScript strings (UTF-16), 16 ASCII characters per loop step.
//
// The host runs actors with a deadline check on every loop iteration (wazero's
// close-on-context-done), which makes a per-byte loop cost far more than the byte. These
// routines move runs of ASCII 16 at a time with 64-bit loads and stores and fall back to one
// code point at a time only for non-ASCII characters.

const HI8: u64 = 0x8080808080808080;
const HI16: u64 = 0xff80ff80ff80ff80;

// @ts-ignore: decorator
@inline
function widen4(b: u64): u64 {
  return (b & 0xff) | ((b & 0xff00) << 8) | ((b & 0xff0000) << 16) | ((b & 0xff000000) << 24);
}

// @ts-ignore: decorator
@inline
function narrow4(x: u64): u32 {
  return <u32>((x & 0xff) | ((x >> 8) & 0xff00) | ((x >> 16) & 0xff0000) | ((x >> 24) & 0xff000000));
}

/** Decodes the UTF-8 bytes [ptr, ptr+len) to a string (a truncated sequence at the end is
 *  dropped). */
export function decodeUTF8(ptr: usize, len: usize): string {
  let str = changetype<string>(__new(len << 1, idof<string>()));
  let dst = changetype<usize>(str);
  let src = ptr;
  let end = ptr + len;
  while (src < end) {
    if (end - src >= 16) {
      let a = load<u64>(src);
      let b = load<u64>(src, 8);
      if (((a | b) & HI8) == 0) {
        store<u64>(dst, widen4(a));
        store<u64>(dst, widen4(a >> 32), 8);
        store<u64>(dst, widen4(b), 16);
        store<u64>(dst, widen4(b >> 32), 24);
        src += 16;
        dst += 32;
        continue;
      }
    }
    let u0 = <u32>load<u8>(src++);
    if (u0 < 0x80) {
      store<u16>(dst, <u16>u0);
      dst += 2;
      continue;
    }
    if (src == end) break;
    let u1 = <u32>load<u8>(src++) & 63;
    if ((u0 & 224) == 192) {
      store<u16>(dst, <u16>(((u0 & 31) << 6) | u1));
      dst += 2;
      continue;
    }
    if (src == end) break;
    let u2 = <u32>load<u8>(src++) & 63;
    if ((u0 & 240) == 224) {
      u0 = ((u0 & 15) << 12) | (u1 << 6) | u2;
    } else {
      if (src == end) break;
      u0 = ((u0 & 7) << 18) | (u1 << 12) | (u2 << 6) | (<u32>load<u8>(src++) & 63);
    }
    if (u0 < 0x10000) {
      store<u16>(dst, <u16>u0);
      dst += 2;
    } else {
      u0 -= 0x10000;
      store<u16>(dst, <u16>((u0 >> 10) | 0xd800));
      store<u16>(dst, <u16>((u0 & 0x3ff) | 0xdc00), 2);
      dst += 4;
    }
  }
  return changetype<string>(__renew(changetype<usize>(str), dst - changetype<usize>(str)));
}

/** The number of bytes encodeUTF8 writes for s. */
export function utf8Length(s: string): usize {
  let p = changetype<usize>(s);
  let end = p + (<usize>s.length << 1);
  let n: usize = 0;
  while (p < end) {
    if (end - p >= 16) {
      let a = load<u64>(p);
      let b = load<u64>(p, 8);
      if (((a | b) & HI16) == 0) {
        n += 8;
        p += 16;
        continue;
      }
    }
    let c = <u32>load<u16>(p);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if ((c & 0xfc00) == 0xd800 && p + 2 < end && (<u32>load<u16>(p, 2) & 0xfc00) == 0xdc00) {
      n += 4;
      p += 4;
      continue;
    } else n += 3;
    p += 2;
  }
  return n;
}

/** Writes s as UTF-8 at buf (room for utf8Length(s) bytes) and returns the bytes written. A
 *  lone surrogate becomes U+FFFD, so the output is always valid UTF-8. */
export function encodeUTF8(s: string, buf: usize): usize {
  let p = changetype<usize>(s);
  let end = p + (<usize>s.length << 1);
  let w = buf;
  while (p < end) {
    if (end - p >= 16) {
      let a = load<u64>(p);
      let b = load<u64>(p, 8);
      if (((a | b) & HI16) == 0) {
        store<u32>(w, narrow4(a));
        store<u32>(w, narrow4(b), 4);
        p += 16;
        w += 8;
        continue;
      }
    }
    let c = <u32>load<u16>(p);
    p += 2;
    if (c < 0x80) {
      store<u8>(w++, <u8>c);
    } else if (c < 0x800) {
      store<u8>(w++, <u8>((c >> 6) | 192));
      store<u8>(w++, <u8>((c & 63) | 128));
    } else {
      if ((c & 0xf800) == 0xd800) {
        if (c < 0xdc00 && p < end) {
          let c2 = <u32>load<u16>(p);
          if ((c2 & 0xfc00) == 0xdc00) {
            p += 2;
            c = 0x10000 + (((c & 0x3ff) << 10) | (c2 & 0x3ff));
            store<u8>(w++, <u8>((c >> 18) | 240));
            store<u8>(w++, <u8>(((c >> 12) & 63) | 128));
            store<u8>(w++, <u8>(((c >> 6) & 63) | 128));
            store<u8>(w++, <u8>((c & 63) | 128));
            continue;
          }
        }
        c = 0xfffd;
      }
      store<u8>(w++, <u8>((c >> 12) | 224));
      store<u8>(w++, <u8>(((c >> 6) & 63) | 128));
      store<u8>(w++, <u8>((c & 63) | 128));
    }
  }
  return w - buf;
}
