// as-echo: a small Gibsey voice written in AssemblyScript. It answers a page request with the
// passages of the novel that the host's retrieval finds for the reader's question (or symbol),
// echoed back as a page, and names them as the page's sources.

import { Request, Response, register, retrieve, excerpt, info } from "../../../sdk/as/assembly/index";
export { alloc, handle, gibsey_abi_version } from "../../../sdk/as/assembly/index";

function answer(req: Request): Response {
  // What to look for: the reader's question, else the symbol's meaning, else the page this
  // voice answers (voices answer every generated page), else the symbol.
  let query = req.prompt;
  if (query.length == 0) query = req.meaning;
  if (query.length == 0) query = excerpt(req.parentText, 300);
  if (query.length == 0) query = req.symbolId;
  if (query.length == 0) query = req.characterId;

  const passages = retrieve(query, req.characterId, 0, 3);
  info("as-echo: " + passages.length.toString() + " passages for " + req.characterId);

  let text = "";
  if (req.prompt.length > 0) text += "You asked: " + req.prompt + "\n\n";
  text += "The book answers in " + (passages.length == 1 ? "one voice" : passages.length.toString() + " voices") + ", facing " + req.orientation + ":\n";
  const resp = new Response();
  for (let i = 0; i < passages.length; i++) {
    const p = passages[i];
    text += "\n“" + excerpt(p.text, 280) + "” (page " + p.pageNumber.toString() + ")\n";
    resp.sources.push(p.toSource());
  }
  if (passages.length == 0) {
    text += "\nNothing echoes back" + (req.parentText.length > 0 ? ", only the page before: " + excerpt(req.parentText, 280) : ".") + "\n";
  }
  resp.title = "Echo of " + req.characterId;
  resp.text = text;
  resp.generator = "as-echo";
  return resp;
}

register(answer);
