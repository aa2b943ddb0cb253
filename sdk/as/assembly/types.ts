// The typed request and response of a Gibsey actor (sdk/ABI.md, sections 3.1 to 3.3), with
// their frame encoding. Field names follow the host's JSON names in camelCase.

import { Decoder, Encoder, KIND_RESPONSE } from "./frame";

/** A short reference to an earlier page of the reader's session. */
export class PageRef {
  pageId: string = "";
  characterId: string = "";
  sectionId: i32 = 0;
  title: string = "";
  /** The start of the page's text (at most 800 bytes). */
  text: string = "";

  static decode(d: Decoder): PageRef {
    let p = new PageRef();
    while (d.next()) {
      switch (d.tag) {
        case 1: p.pageId = d.string(); break;
        case 2: p.characterId = d.string(); break;
        case 3: p.sectionId = <i32>d.int(); break;
        case 4: p.title = d.string(); break;
        case 5: p.text = d.string(); break;
      }
    }
    return p;
  }
}

/** What the host asks the actor: write a page ("page") or say what a symbol means ("interpret"). */
export class Request {
  kind: string = "";
  eventId: string = "";
  sessionId: string = "";
  /** The event's own time, Unix milliseconds. */
  tsMs: i64 = 0;
  /** The actor's own name (from its manifest). */
  actor: string = "";
  requestId: string = "";
  causeEventId: string = "";
  causeType: string = "";
  voice: string = "";
  characterId: string = "";
  sectionId: i32 = 0;
  symbolId: string = "";
  /** N, E, S or W. */
  orientation: string = "";
  prompt: string = "";
  symbols: string[] = [];
  meaning: string = "";
  parentPageId: string = "";
  parentText: string = "";
  recentPages: PageRef[] = [];
  attempt: i32 = 0;

  /** Decodes a request body (the bytes after 0xF7 'Q'). Returns null when it is malformed. */
  static decodeFrame(ptr: usize, len: usize): Request | null {
    let r = new Request();
    let d = new Decoder(ptr, len);
    while (d.next()) {
      switch (d.tag) {
        case 1: r.kind = d.string(); break;
        case 2: r.eventId = d.string(); break;
        case 3: r.sessionId = d.string(); break;
        case 4: r.tsMs = d.int(); break;
        case 5: r.actor = d.string(); break;
        case 10: r.requestId = d.string(); break;
        case 11: r.causeEventId = d.string(); break;
        case 12: r.causeType = d.string(); break;
        case 13: r.voice = d.string(); break;
        case 14: r.characterId = d.string(); break;
        case 15: r.sectionId = <i32>d.int(); break;
        case 16: r.symbolId = d.string(); break;
        case 17: r.orientation = d.string(); break;
        case 18: r.prompt = d.string(); break;
        case 19: r.symbols.push(d.string()); break;
        case 20: r.meaning = d.string(); break;
        case 21: r.parentPageId = d.string(); break;
        case 22: r.parentText = d.string(); break;
        case 23: {
          let sub = d.record();
          r.recentPages.push(PageRef.decode(sub));
          if (!sub.ok) return null;
          break;
        }
        case 24: r.attempt = <i32>d.int(); break;
      }
    }
    return d.ok ? r : null;
  }
}

/** A passage a page drew on; listed in the page's provenance. */
export class Source {
  passageId: string = "";
  pageNumber: i32 = 0;
  characterId: string = "";
  sectionId: i32 = 0;
  excerpt: string = "";
  /** Set when the passage is an earlier generated page (its page_id). */
  generated: string = "";

  encode(e: Encoder, tag: i32): void {
    let m = e.begin(tag);
    e.string(1, this.passageId);
    e.int(2, this.pageNumber);
    e.string(3, this.characterId);
    e.int(4, this.sectionId);
    e.string(5, this.excerpt);
    e.string(6, this.generated);
    e.end(m);
  }
}

/** The actor's answer. For a page, text must be non-empty; for "interpret", meaning must be. */
export class Response {
  title: string = "";
  text: string = "";
  sources: Source[] = [];
  /** For kind "interpret": what the symbol means in this orientation. */
  meaning: string = "";
  /** How the text was made ("compose", "llm", ...). */
  generator: string = "";
  /** Set when the actor could not answer; everything else is then ignored. */
  error: string = "";

  /** A page with a title and a text. */
  static page(title: string, text: string): Response {
    let r = new Response();
    r.title = title;
    r.text = text;
    return r;
  }

  /** A meaning (the answer to an "interpret" request). */
  static interpretation(meaning: string): Response {
    let r = new Response();
    r.meaning = meaning;
    return r;
  }

  /** The actor could not answer: the call fails with this message (the instance is kept). */
  static fail(message: string): Response {
    let r = new Response();
    r.error = message.length > 0 ? message : "actor failed";
    return r;
  }

  /** Encodes the whole message (0xF7 'R' body) into e. */
  encodeFrame(e: Encoder): void {
    e.message(KIND_RESPONSE);
    if (this.error.length > 0) {
      e.string(5, this.error);
      return;
    }
    e.string(1, this.title);
    e.string(2, this.text);
    for (let i = 0; i < this.sources.length; i++) this.sources[i].encode(e, 3);
    e.string(4, this.meaning);
    e.string(6, this.generator);
  }
}

/** A passage from the RAG index (a corpus page or an earlier generated page). */
export class Passage {
  id: string = "";
  characterId: string = "";
  sectionId: i32 = 0;
  pageNumber: i32 = 0;
  text: string = "";
  score: f32 = 0;

  static decode(d: Decoder): Passage {
    let p = new Passage();
    while (d.next()) {
      switch (d.tag) {
        case 1: p.id = d.string(); break;
        case 2: p.characterId = d.string(); break;
        case 3: p.sectionId = <i32>d.int(); break;
        case 4: p.pageNumber = <i32>d.int(); break;
        case 5: p.text = d.string(); break;
        case 6: p.score = d.f32(); break;
      }
    }
    return p;
  }

  encode(e: Encoder, tag: i32): void {
    let m = e.begin(tag);
    e.string(1, this.id);
    e.string(2, this.characterId);
    e.int(3, this.sectionId);
    e.int(4, this.pageNumber);
    e.string(5, this.text);
    e.f32(6, this.score);
    e.end(m);
  }

  /** This passage as a source of a page, with an excerpt of at most maxChars characters. */
  toSource(maxChars: i32 = 200): Source {
    let s = new Source();
    s.passageId = this.id;
    s.pageNumber = this.pageNumber;
    s.characterId = this.characterId;
    s.sectionId = this.sectionId;
    s.excerpt = excerpt(this.text, maxChars);
    return s;
  }
}

/** A page of the novel. */
export class CorpusPage {
  number: i32 = 0;
  characterId: string = "";
  sectionId: i32 = 0;
  title: string = "";
  text: string = "";

  static decode(d: Decoder): CorpusPage {
    let p = new CorpusPage();
    while (d.next()) {
      switch (d.tag) {
        case 1: p.number = <i32>d.int(); break;
        case 2: p.characterId = d.string(); break;
        case 3: p.sectionId = <i32>d.int(); break;
        case 4: p.title = d.string(); break;
        case 5: p.text = d.string(); break;
      }
    }
    return p;
  }
}

/** The first maxChars characters of s, cut at a space when one is near, with "…" when cut. */
export function excerpt(s: string, maxChars: i32): string {
  if (s.length <= maxChars) return s;
  let cut = maxChars;
  let sp = s.lastIndexOf(" ", cut);
  if (sp > maxChars / 2) cut = sp;
  // never split a surrogate pair
  let c = s.charCodeAt(cut - 1);
  if (c >= 0xd800 && c < 0xdc00) cut--;
  return s.substring(0, cut) + "…";
}
