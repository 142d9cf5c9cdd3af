import { LifelineError } from "./errors.js";

export interface Endpoint {
  /** http(s) URL of the endpoint without query or trailing slash. */
  readonly url: string;
  /** The query string the user gave (without "?"), kept on every request. */
  readonly query: string;
}

/**
 * Accepts http, https, ws and wss endpoint URLs; relative URLs resolve as fetch and WebSocket
 * resolve them: against the document's base URL (a `<base href>`, a srcdoc frame's parent),
 * else the location (a worker), where there is one.
 */
export function parseEndpoint(input: string): Endpoint {
  try {
    if (typeof input !== "string") throw 0;
    const { document, location } = globalThis as { document?: { baseURI?: string }; location?: { href?: string } };
    const base = document?.baseURI || location?.href;
    const url = !/^[a-z][a-z0-9+.-]*:/i.test(input) && base ? new URL(input, base).href : input;
    // Host: a name without spaces or "@" (fetch refuses credentials in a URL), or a bracketed
    // IPv6 address; then an optional port of at most 5 digits. A failed match (null) throws.
    const match = /^(http|ws)(s?):\/\/(\[[\da-f:.]+\]|[^\s/?#@[\]:]+)(:\d{1,5})?(\/[^?#]*)?(?:\?([^#]*))?(?:#|$)/i.exec(url)!;
    const [, , secure, host, port = "", path = "", query = ""] = match;
    // 1 to 65535 when given (":0" cannot be connected to).
    if (port && !(+port.slice(1) > 0 && +port.slice(1) <= 65535)) throw 0;
    return { url: `http${secure!.toLowerCase()}://${host}${port}${path.replace(/\/+$/, "")}`, query };
  } catch {
    throw new LifelineError("INVALID_ARGUMENT", `invalid url: ${String(input)}`);
  }
}

/**
 * Builds the URL of one endpoint under the base: `suffix` plus our parameters, then the user's
 * query. Ours come first because the server reads the first of a name: a `sid` of the app's
 * own cannot stand in for the session's.
 */
export function endpointUrl(url: string, suffix: string, query: string, extra?: string): string {
  const parts = [extra, query].filter(Boolean).join("&");
  return url + suffix + (parts ? "?" + parts : "");
}
