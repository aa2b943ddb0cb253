// The benchmark guest built on the AssemblyScript SDK (sdk/as): the same echo work as the Go
// guests (count the words of parent_text, upper-case its ASCII letters).

import { Request, Response, register } from "../../../../../sdk/as/assembly/index";
export { alloc, handle, gibsey_abi_version } from "../../../../../sdk/as/assembly/index";

function isSpace(c: u32): bool {
  return c == 0x20 || c == 0x0a || c == 0x09 || c == 0x0d;
}

function echo(req: Request): Response {
  const text = req.parentText;
  if (req.prompt == "codec-only") return Response.page("Echo of " + req.characterId, text);
  const n = text.length;
  const up = changetype<string>(__new(<usize>n << 1, idof<string>()));
  const src = changetype<usize>(text);
  const dst = changetype<usize>(up);
  let words = 0;
  let inWord = false;
  for (let i = 0; i < n; i++) {
    let c = <u32>load<u16>(src + (<usize>i << 1));
    if (isSpace(c)) inWord = false;
    else if (!inWord) {
      inWord = true;
      words++;
    }
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    store<u16>(dst + (<usize>i << 1), <u16>c);
  }
  return Response.page("Echo of " + req.characterId, words.toString() + " words, facing " + req.orientation + ":\n\n" + up);
}

register(echo);
