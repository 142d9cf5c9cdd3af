import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs build script, without declarations.
import { INTERNAL_MEMBERS } from "../../../../scripts/terser-options.mjs";

/**
 * The CDN bundles shorten the names in INTERNAL_MEMBERS wherever they appear as a property. A
 * public name among them (an option, an event or error field, a Transport member) would be
 * shortened in the bundle while the app uses the long one, and a platform one (a WebSocket's,
 * a fetch Response's) while the browser keeps it: this checks the list against every member the
 * published declarations of the CDN bundles' entry (index: `connect`, `LifelineError`, the
 * options, events and errors) name, and against TypeScript's declarations of the platform objects
 * the client uses. Frames and the Transport interface are public in the core entry only, which
 * no CDN bundle has, so their fields may be shortened there. The first needs `npm run build`;
 * skipped without it.
 */

const dist = new URL("../../dist/", import.meta.url);
const declarations = ["index.d.ts"];
const built = declarations.every((file) => existsSync(new URL(file, dist)));
const suite = built ? describe : describe.skip;

/** Names declared as members (`name:`, `name?:`, `readonly name:`, `name(`) at the start of a line. */
function publicMembers(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/^\s*(?:readonly\s+)?(?:get\s+)?([A-Za-z_$][\w$]*)\??\s*[:(<]/gm)) names.add(match[1]!);
  return names;
}

/** The platform objects the client touches, whose members it may read. */
const PLATFORM = ["WebSocket", "CloseEvent", "MessageEvent", "XMLHttpRequest", "XMLHttpRequestEventTarget", "ProgressEvent", "EventTarget", "Event"]
  .concat(["Body", "Response", "Headers", "ReadableStream", "ReadableStreamDefaultReader", "TextDecoder", "AbortController", "AbortSignal"])
  // The dictionaries the client passes or gets back: fetch's init, a reader's result, decode()'s options.
  .concat(["RequestInit", "ReadableStreamReadValueResult", "ReadableStreamReadDoneResult", "TextDecodeOptions", "AddEventListenerOptions"])
  .concat(["Storage", "Console", "Navigator", "NavigatorOnLine", "Document", "Window", "PageTransitionEvent"]);

function platformMembers(): Set<string> {
  const dom = readFileSync(new URL("../../../../node_modules/typescript/lib/lib.dom.d.ts", import.meta.url), "utf8");
  const names = new Set<string>();
  for (const name of PLATFORM) {
    for (const body of dom.matchAll(new RegExp(`^interface ${name}\\b[^{]*\\{([\\s\\S]*?)^\\}`, "gm"))) {
      for (const member of publicMembers(body[1]!)) names.add(member);
    }
  }
  return names;
}

describe("CDN member shortening, against the platform", () => {
  const members = platformMembers();

  it("reads the platform members from TypeScript's DOM declarations", () => {
    for (const name of ["readyState", "responseText", "getItem", "visibilityState", "onLine", "abort", "method", "done", "stream", "once"]) expect(members).toContain(name);
  });

  it("shortens no member of a platform object the client uses", () => {
    expect((INTERNAL_MEMBERS as string[]).filter((name) => members.has(name))).toEqual([]);
  });
});

describe("CDN member shortening, against the wire format", () => {
  it("shortens no key of a frame's JSON (the codec writes them as plain object keys)", () => {
    const protocol = readFileSync(new URL("../../../../docs/protocol.md", import.meta.url), "utf8");
    const codec = readFileSync(new URL("../../../protocol/src/codec.ts", import.meta.url), "utf8");
    // Section 1, Frames: the table of wire forms and the shape of POS under it; and what the codec
    // itself writes (`sid: frame.sessionId`) and reads (`body["sid"]`), in case the two differ.
    const frames = protocol.slice(protocol.indexOf("## 1. Frames"), protocol.indexOf("### Sequence numbers"));
    const written = [...codec.matchAll(/\b(\w+): (?:frame|position)\./g), ...codec.matchAll(/\b(?:body|pos)\["(\w+)"\]/g)];
    const keys = new Set([...frames.matchAll(/"(\w+)":/g), ...written].map((match) => match[1]!));
    for (const key of ["v", "sid", "ack", "att", "cid", "pt", "pingInterval", "ch", "off"]) expect(keys).toContain(key);
    expect(written.length).toBeGreaterThan(10);
    expect((INTERNAL_MEMBERS as string[]).filter((name) => keys.has(name))).toEqual([]);
  });
});

suite(built ? "CDN member shortening" : "CDN member shortening (skipped: no dist; run `npm run build` first)", () => {
  const members = new Set(declarations.flatMap((file) => [...publicMembers(readFileSync(new URL(file, dist), "utf8"))]));

  it("reads the public members from the declarations", () => {
    // The scan itself works: it finds options, event and error fields.
    for (const name of ["transports", "reconnect", "unacknowledged", "resumed", "sessionLost", "closeCode", "maxAttempts"]) expect(members).toContain(name);
  });

  it("shortens no name that the public API declares", () => {
    expect((INTERNAL_MEMBERS as string[]).filter((name) => members.has(name))).toEqual([]);
  });
});
