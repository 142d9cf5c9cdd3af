import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs build script, without declarations.
import { INTERNAL_MEMBERS } from "../../../../scripts/terser-options.mjs";

/**
 * The CDN bundles shorten the names in INTERNAL_MEMBERS wherever they appear as a property. A
 * public name among them (an option, an event or error field, a Transport member) would be
 * shortened in the bundle while the app uses the long one: this checks the list against every
 * member the published declarations name. Needs `npm run build` first; skipped without it.
 */

const dist = new URL("../../dist/", import.meta.url);
const declarations = ["index.d.ts", "core.d.ts", "transports/websocket.d.ts", "transports/http-stream.d.ts", "transports/long-polling.d.ts"];
const built = declarations.every((file) => existsSync(new URL(file, dist)));
const suite = built ? describe : describe.skip;

/** Names declared as members (`name:`, `name?:`, `readonly name:`, `name(`) at the start of a line. */
function publicMembers(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/^\s*(?:readonly\s+)?(?:get\s+)?([A-Za-z_$][\w$]*)\??\s*[:(<]/gm)) names.add(match[1]!);
  return names;
}

suite(built ? "CDN member shortening" : "CDN member shortening (skipped: no dist; run `npm run build` first)", () => {
  const members = new Set(declarations.flatMap((file) => [...publicMembers(readFileSync(new URL(file, dist), "utf8"))]));

  it("reads the public members from the declarations", () => {
    // The scan itself works: it finds options, event fields and Transport members.
    for (const name of ["transports", "reconnect", "unacknowledged", "resumed", "onFrames", "isSupported", "closeCode"]) expect(members).toContain(name);
  });

  it("shortens no name that the public API declares", () => {
    expect((INTERNAL_MEMBERS as string[]).filter((name) => members.has(name))).toEqual([]);
  });
});
