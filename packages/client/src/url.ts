import { LifelineError } from "./errors.js";

export interface Endpoint {
  /** http(s) URL of the endpoint without query or trailing slash. */
  readonly url: string;
  /** The query string the user gave (without "?"), kept on every request. */
  readonly query: string;
}

/**
 * Accepts http, https, ws and wss endpoint URLs; relative URLs resolve against the page's
 * location where there is one.
 */
export function parseEndpoint(input: string): Endpoint {
  if (typeof input !== "string") throw new LifelineError("INVALID_ARGUMENT", `invalid url: ${String(input)}`);
  let url = input;
  const location = (globalThis as { location?: { href?: string } }).location;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(url) && location?.href) url = new URL(url, location.href).href;
  const match = /^(http|ws)(s?):\/\/([^/?#]+)([^?#]*)(?:\?([^#]*))?/i.exec(url);
  if (!match) throw new LifelineError("INVALID_ARGUMENT", `invalid url: ${input}`);
  const path = match[4]!.replace(/\/+$/, "");
  return { url: `http${match[2]!.toLowerCase()}://${match[3]}${path}`, query: match[5] ?? "" };
}

/** Builds the URL of one endpoint under the base: `suffix` plus the user's query and extras. */
export function endpointUrl(url: string, suffix: string, query: string, extra?: string): string {
  const parts = [query, extra].filter(Boolean).join("&");
  return url + suffix + (parts ? "?" + parts : "");
}
