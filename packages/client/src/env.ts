/** Constructors and functions the transports need; taken from options first, then globalThis. */
export interface Capabilities {
  readonly WebSocket?: WebSocketConstructor;
  readonly fetch?: FetchFunction;
  readonly XMLHttpRequest?: XMLHttpRequestConstructor;
  /**
   * True when fetch responses expose a readable `body` stream. React Native's fetch has none,
   * so streaming runs over XHR progress events there.
   */
  readonly fetchStreams?: boolean;
  readonly TextDecoder?: TextDecoderConstructor;
}

/**
 * The platform's `fetch`, typed as its global declaration (the DOM library's, Node's or React
 * Native's); a project that declares no `fetch` at all still compiles against these types.
 */
export type FetchFunction = typeof globalThis extends { fetch: infer F } ? F : (input: string, init?: object) => Promise<{ status: number; text(): Promise<string> }>;

/**
 * A TextDecoder as a structural type, since React Native's TypeScript setup declares none; wide
 * enough for a custom transport's own use of `caps.TextDecoder`.
 */
export type TextDecoderConstructor = new (label?: string) => { decode(input?: Uint8Array, options?: { stream?: boolean }): string };

/**
 * The part of a WebSocket Lifeline uses, so the browser's, React Native's and `ws`'s in Node all
 * fit without a cast. Handlers take `never` because each implementation types its events its own
 * way; the transport reads only `data`, `code` and `reason` from them. A custom transport gets
 * the same type in `caps.WebSocket`.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** Bytes queued to go up; where absent, taken for 0. */
  readonly bufferedAmount?: number;
  /** Node's `ws` only: drops the socket without waiting for the peer's close frame. */
  terminate?(): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * The part of an XMLHttpRequest Lifeline uses, so its types need neither the DOM library (a Node
 * project) nor a cast (React Native's). Handlers take `never`, as in WebSocketLike.
 */
export interface XMLHttpRequestLike {
  readonly status: number;
  readonly responseText: string;
  onload: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  ontimeout: ((event: never) => void) | null;
  onprogress: ((event: never) => void) | null;
  onabort?: ((event: never) => void) | null;
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body?: string | null): void;
  abort(): void;
}

export type XMLHttpRequestConstructor = new () => XMLHttpRequestLike;

export interface CapabilityOptions {
  WebSocket?: WebSocketConstructor | undefined;
  fetch?: FetchFunction | undefined;
  XMLHttpRequest?: XMLHttpRequestConstructor | undefined;
}

/**
 * What this environment offers. Nothing is sniffed: a browser, React Native and Node differ only
 * in which of these exist (React Native's fetch responses have no body stream, so streaming uses XHR
 * progress events there; Node 20 has fetch but no global WebSocket unless one is passed).
 */
export function resolveCapabilities(options: CapabilityOptions = {}): Capabilities {
  const g = globalThis as Partial<Capabilities> & typeof globalThis;
  const fetchFn = options.fetch ?? (typeof g.fetch === "function" ? g.fetch.bind(globalThis) : undefined);
  const caps: { -readonly [K in keyof Capabilities]: Capabilities[K] } = {};
  const ws = options.WebSocket ?? g.WebSocket;
  const xhr = options.XMLHttpRequest ?? g.XMLHttpRequest;
  if (ws) caps.WebSocket = ws;
  if (fetchFn) caps.fetch = fetchFn;
  if (xhr) caps.XMLHttpRequest = xhr;
  // A polyfilled ReadableStream is not enough: the Response must have a body to read from.
  const response = (g as { Response?: { prototype: object } }).Response;
  if (g.ReadableStream && response && "body" in response.prototype) caps.fetchStreams = true;
  if (g.TextDecoder) caps.TextDecoder = g.TextDecoder;
  return caps;
}
