// Wrappers over the host functions of the Gibsey ABI (import module "gibsey", sdk/ABI.md
// section 4). Only the functions an actor actually calls end up imported by its module, and
// the host refuses a module that imports one its manifest does not list in host_functions.

import { Decoder, Encoder } from "./frame";
import { CorpusPage, Passage } from "./types";
import { decodeUTF8, encodeUTF8, utf8Length } from "./utf8";

// @ts-ignore: decorator
@external("gibsey", "log")
declare function gibsey_log(level: i32, ptr: usize, len: i32): void;
// @ts-ignore: decorator
@external("gibsey", "retrieve")
declare function gibsey_retrieve(qPtr: usize, qLen: i32, outPtr: usize, outCap: i32): i32;
// @ts-ignore: decorator
@external("gibsey", "corpus_page")
declare function gibsey_corpus_page(n: i32, outPtr: usize, outCap: i32): i32;
// @ts-ignore: decorator
@external("gibsey", "state_get")
declare function gibsey_state_get(kPtr: usize, kLen: i32, outPtr: usize, outCap: i32): i32;
// @ts-ignore: decorator
@external("gibsey", "state_put")
declare function gibsey_state_put(kPtr: usize, kLen: i32, vPtr: usize, vLen: i32): i32;
// @ts-ignore: decorator
@external("gibsey", "now")
declare function gibsey_now(): i64;
// @ts-ignore: decorator
@external("gibsey", "random")
declare function gibsey_random(outPtr: usize, outLen: i32): i32;
// @ts-ignore: decorator
@external("gibsey", "generate")
declare function gibsey_generate(rPtr: usize, rLen: i32, outPtr: usize, outCap: i32): i32;

/** Error codes a host function may return (sdk/ABI.md section 4). */
export const NOT_FOUND: i32 = -1;
export const DENIED: i32 = -2;
export const BAD_ARGUMENT: i32 = -3;
export const HOST_ERROR: i32 = -4;
export const TOO_LARGE: i32 = -5;
export const UNAVAILABLE: i32 = -6;

/** Log levels. */
export const DEBUG: i32 = 0;
export const INFO: i32 = 1;
export const WARN: i32 = 2;
export const ERROR: i32 = 3;

let lastCode: i32 = 0;

/** The error code of the last host call that failed (0 when it succeeded). */
export function lastError(): i32 {
  return lastCode;
}

// The buffer host functions write their results into. It grows on demand and is reused.
let outPtr: usize = 0;
let outCap: i32 = 0;

function ensureOut(n: i32): void {
  if (n <= outCap) return;
  let c = outCap < 4096 ? 4096 : outCap;
  while (c < n) c <<= 1;
  outPtr = outPtr == 0 ? heap.alloc(<usize>c) : heap.realloc(outPtr, <usize>c);
  outCap = c;
}

// Scratch encoder for arguments.
let args: Encoder | null = null;
function argEncoder(): Encoder {
  let e = args;
  if (e == null) {
    e = new Encoder(512);
    args = e;
  }
  e.reset();
  return e;
}

// Scratch buffer for a string argument encoded as UTF-8.
let strPtr: usize = 0;
let strCap: i32 = 0;
function utf8(s: string): i32 {
  let n = <i32>utf8Length(s);
  if (n > strCap) {
    let c = n < 256 ? 256 : n;
    strPtr = strPtr == 0 ? heap.alloc(<usize>c) : heap.realloc(strPtr, <usize>c);
    strCap = c;
  }
  return <i32>encodeUTF8(s, strPtr);
}

/** Logs a line at a level (DEBUG, INFO, WARN, ERROR). Lines are cut at 1 KiB and rate-limited. */
export function log(level: i32, message: string): void {
  let n = utf8(message);
  gibsey_log(level, strPtr, n);
}

/** Logs a line at INFO. */
export function info(message: string): void {
  log(INFO, message);
}

/**
 * The top-k passages of the RAG index for a query, best first, optionally only those of one
 * character and/or one section (empty / 0 mean any). Returns an empty array when the host
 * fails or denies it (see lastError()).
 */
export function retrieve(query: string, characterId: string = "", sectionId: i32 = 0, k: i32 = 5): Passage[] {
  let e = argEncoder();
  e.string(1, query);
  e.string(2, characterId);
  e.int(3, sectionId);
  e.int(4, k);
  let out = new Array<Passage>();
  let n = call4(gibsey_retrieve, e.ptr, <i32>e.len);
  if (n < 0) return out;
  let d = new Decoder(outPtr, <usize>n);
  while (d.next()) {
    if (d.tag == 1) out.push(Passage.decode(d.record()));
  }
  return out;
}

/** A page of the novel by its number, or null when there is none (or the host said no). */
export function corpusPage(n: i32): CorpusPage | null {
  ensureOut(16384);
  let r = gibsey_corpus_page(n, outPtr, outCap);
  if (r > outCap) {
    ensureOut(r);
    r = gibsey_corpus_page(n, outPtr, outCap);
  }
  if (r < 0 || r > outCap) {
    lastCode = r < 0 ? r : HOST_ERROR;
    return null;
  }
  lastCode = 0;
  return CorpusPage.decode(new Decoder(outPtr, <usize>r));
}

/** This actor's value for key in the reader's session, or null when it is absent. */
export function stateGet(key: string): string | null {
  let kn = utf8(key);
  // the key stays in the string scratch buffer across the retry
  let n = call4(gibsey_state_get, strPtr, kn);
  if (n < 0) return null;
  return decodeUTF8(outPtr, <usize>n);
}

/** Sets this actor's value for key in the reader's session; false when the host refused. */
export function statePut(key: string, value: string): bool {
  let e = argEncoder();
  // key and value both as UTF-8, one after the other in the scratch encoder
  e.reserve(utf8Length(key) + utf8Length(value));
  let kw = encodeUTF8(key, e.ptr);
  let vw = encodeUTF8(value, e.ptr + kw);
  let r = gibsey_state_put(e.ptr, <i32>kw, e.ptr + kw, <i32>vw);
  lastCode = r < 0 ? r : 0;
  return r >= 0;
}

/** The event's own time in Unix milliseconds (never the wall clock). */
export function now(): i64 {
  return gibsey_now();
}

/** n bytes from the event's seeded random stream (the same event gives the same bytes). */
export function randomBytes(n: i32): Uint8Array {
  let a = new Uint8Array(n);
  if (n > 0) gibsey_random(a.dataStart, n);
  return a;
}

/** A number in [0, max) from the event's seeded random stream (0 when max is 0). */
export function randomInt(max: u32): u32 {
  if (max == 0) return 0;
  ensureOut(8);
  gibsey_random(outPtr, 8);
  return <u32>(load<u64>(outPtr) % <u64>max);
}

/**
 * Text from the host's configured language model for a prompt and the passages it should
 * draw on. Returns null when no endpoint is configured (lastError() == UNAVAILABLE) or it
 * failed: compose the page yourself then.
 */
export function generate(prompt: string, passages: Passage[]): string | null {
  let e = argEncoder();
  e.string(1, prompt);
  for (let i = 0; i < passages.length; i++) passages[i].encode(e, 2);
  let n = call4(gibsey_generate, e.ptr, <i32>e.len);
  if (n < 0) return null;
  return decodeUTF8(outPtr, <usize>n);
}

// Calls a (ptr, len, out_ptr, out_cap) host function with the grow-and-retry protocol.
function call4(f: (a: usize, b: i32, c: usize, d: i32) => i32, a: usize, b: i32): i32 {
  ensureOut(4096);
  let n = f(a, b, outPtr, outCap);
  if (n > outCap) {
    ensureOut(n);
    n = f(a, b, outPtr, outCap);
  }
  if (n > outCap) n = HOST_ERROR;
  lastCode = n < 0 ? n : 0;
  return n;
}
