// The Gibsey plugin SDK for AssemblyScript.
//
// An actor (a story voice) is one function from a Request to a Response. The entry file of a
// voice looks like this:
//
//   import { Request, Response, register, retrieve } from "../../sdk/as/assembly/index";
//   export { alloc, handle, gibsey_abi_version } from "../../sdk/as/assembly/index";
//
//   function answer(req: Request): Response {
//     const passages = retrieve(req.prompt, req.characterId, 0, 3);
//     ...
//     return Response.page("A title", "The page's text.");
//   }
//   register(answer);
//
// Build it with
//
//   npx asc index.ts -o NAME.wasm --runtime incremental -O3 --noAssert
//
// The SDK hides the ABI (sdk/ABI.md): memory for requests, the frame (or JSON) decoding of the
// request, the frame encoding of the response, and the host functions' buffer protocol.

export { alloc, handle, gibsey_abi_version, register, Handler } from "./abi";
export { Request, Response, Source, PageRef, Passage, CorpusPage, excerpt } from "./types";
export {
  log, info, retrieve, corpusPage, stateGet, statePut, now, randomBytes, randomInt, generate, lastError,
  NOT_FOUND, DENIED, BAD_ARGUMENT, HOST_ERROR, TOO_LARGE, UNAVAILABLE, DEBUG, INFO, WARN, ERROR,
} from "./host";
export { Encoder, Decoder } from "./frame";
