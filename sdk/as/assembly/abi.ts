// The exports every Gibsey actor module provides (sdk/ABI.md, section 1): gibsey_abi_version,
// alloc and handle. An actor's entry file re-exports them:
//
//   export { alloc, handle, gibsey_abi_version } from "<path to sdk/as>/assembly/index";
//
// and registers its function with register().

import { Encoder, KIND_REQUEST, MAGIC } from "./frame";
import { decodeRequestJSON } from "./json";
import { Request, Response } from "./types";

/** An actor: one function from a request to a response. */
export type Handler = (req: Request) => Response;

function notRegistered(req: Request): Response {
  return Response.fail("this actor registered no handler: call register(yourFunction) at the top level of its entry file");
}

let handler: Handler = notRegistered;

/** Makes fn the actor's function. Call it once, at the top level of the entry file. */
export function register(fn: Handler): void {
  handler = fn;
}

// The request buffer (host-filled) and the response encoder (kept until the next call).
let inPtr: usize = 0;
let inCap: usize = 0;
let out: Encoder | null = null;

/** The ABI version this SDK speaks. */
export function gibsey_abi_version(): i32 {
  return 0;
}

/** Returns size writable bytes for the host to put a request in (valid until the next call). */
export function alloc(size: i32): usize {
  let s: i32 = size > 0 ? size : 1;
  let want = <usize>s;
  if (want > inCap) {
    let c = inCap < 1024 ? <usize>1024 : inCap;
    while (c < want) c <<= 1;
    if (inPtr != 0) heap.free(inPtr);
    inPtr = heap.alloc(c);
    inCap = c;
  }
  return inPtr;
}

/** Handles the request in [ptr, ptr+len) and returns (resp_ptr << 32) | resp_len. */
export function handle(ptr: usize, len: i32): i64 {
  let e = out;
  if (e == null) {
    e = new Encoder(1024);
    out = e;
  }
  e.reset();
  let n = <usize>len;
  let req: Request | null = null;
  let what = "";
  if (n >= 2 && load<u8>(ptr) == MAGIC) {
    if (load<u8>(ptr, 1) == KIND_REQUEST) req = Request.decodeFrame(ptr + 2, n - 2);
    else what = "a frame that is not a request";
  } else if (n >= 1 && load<u8>(ptr) == 0x7b) {
    req = decodeRequestJSON(ptr, n);
  } else {
    what = "neither a frame nor JSON";
  }
  let resp: Response;
  if (req == null) {
    resp = Response.fail("the actor could not decode its request: " + (what.length > 0 ? what : "malformed"));
  } else {
    resp = handler(req);
  }
  resp.encodeFrame(e);
  return (<i64>e.ptr << 32) | <i64>e.len;
}
