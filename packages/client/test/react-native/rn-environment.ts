import { request as httpRequest } from "node:http";
import type { ClientRequest, IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { vi } from "vitest";
import { WebSocket as WsWebSocket } from "ws";

/**
 * React Native's XMLHttpRequest as far as Lifeline sees it: a text response that grows on every
 * `progress` event (RN's incremental updates), built on node:http. One instance per request.
 */
export class RnXMLHttpRequest {
  static instances: RnXMLHttpRequest[] = [];
  /**
   * On iOS, the URLSession data task under RN's XMLHttpRequest hands over nothing of a response,
   * not even its status, before its first 512 bytes or its end (Apple radar 31862557): 512 there,
   * 0 for Android's behaviour.
   */
  static holdBackBytes = 0;
  readyState = 0;
  status = 0;
  responseText = "";
  method = "";
  url = "";
  progressEvents = 0;
  aborted = false;
  onprogress: (() => void) | null = null;
  onreadystatechange: (() => void) | null = null;
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  ontimeout: (() => void) | null = null;
  private readonly headers: Record<string, string> = {};
  private request: ClientRequest | undefined;

  constructor() {
    RnXMLHttpRequest.instances.push(this);
  }

  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
    this.state(1);
  }

  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }

  send(body?: string | null): void {
    const req = (this.request = httpRequest(this.url, { method: this.method, headers: this.headers }, (res) => {
      const respond = () => {
        this.status = res.statusCode ?? 0;
        this.state(2);
      };
      const progress = (text: string) => {
        this.responseText += text;
        if (this.readyState < 3) this.state(3);
        this.progressEvents++;
        this.onprogress?.();
      };
      // What the platform holds back (see holdBackBytes); undefined once it hands things over.
      let held: string | undefined = RnXMLHttpRequest.holdBackBytes > 0 ? "" : undefined;
      const release = () => {
        const text = held!;
        held = undefined;
        respond();
        if (text) progress(text);
      };
      if (held === undefined) respond();
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (this.aborted) return;
        if (held === undefined) return progress(chunk);
        held += chunk;
        if (Buffer.byteLength(held) >= RnXMLHttpRequest.holdBackBytes) release();
      });
      res.on("end", () => {
        if (this.aborted) return;
        if (held !== undefined) release();
        this.state(4);
        this.onload?.();
      });
      // A response cut before its end: done, with the error handler (no load).
      res.on("close", () => {
        if (!res.complete) this.fail();
      });
    }));
    req.on("error", () => this.fail());
    req.end(body ?? undefined);
  }

  abort(): void {
    this.aborted = true;
    this.request?.destroy();
    this.readyState = 0;
  }

  /**
   * As React Native's XMLHttpRequest fails (Libraries/Network/XMLHttpRequest.js,
   * __didCompleteResponse): the status stays what the response said, and responseText becomes
   * the error's text; then readystatechange (DONE) and error.
   */
  private fail(): void {
    if (this.aborted || this.readyState === 4) return;
    this.responseText = "Software caused connection abort";
    this.state(4);
    this.onerror?.();
  }

  private state(value: number): void {
    this.readyState = value;
    this.onreadystatechange?.();
  }
}

/** React Native's Response: status and text(), but no `body` stream. */
export class RnResponse {
  constructor(
    readonly status: number,
    private readonly bodyText: string,
  ) {}
  text(): Promise<string> {
    return Promise.resolve(this.bodyText);
  }
}

/** Requests made through the imitated fetch, by method and URL. */
export const fetchCalls: string[] = [];

/**
 * A fetch built on node:http: it records the call, sends a string body and aborts on the signal;
 * `answer` turns the response into what the fetch resolves with.
 */
function httpFetch<T>(input: string, init: RequestInit, answer: (res: IncomingMessage, resolve: (value: T) => void, reject: (error: unknown) => void) => void): Promise<T> {
  const method = init.method ?? "GET";
  fetchCalls.push(`${method} ${input}`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(input, { method, headers: init.headers as Record<string, string> }, (res) => answer(res, resolve, reject));
    req.on("error", reject);
    init.signal?.addEventListener("abort", () => {
      req.destroy();
      reject(new Error("aborted"));
    });
    req.end(typeof init.body === "string" ? init.body : undefined);
  });
}

/** React Native's fetch: whole responses only. Built on node:http so no ReadableStream is needed. */
export function rnFetch(input: string, init: RequestInit = {}): Promise<RnResponse> {
  return httpFetch(input, init, (res, resolve, reject) => {
    let text = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => (text += chunk));
    res.on("end", () => resolve(new RnResponse(res.statusCode ?? 0, text)));
    res.on("error", reject);
  });
}

/**
 * The fetch of react-native-fetch-api (installed by react-native-polyfill-globals): its Response
 * has a body stream, but the fetch answers only once the whole response is in, unless the init
 * says `reactNative: { textStreaming: true }`.
 */
export function polyfilledFetch(input: string, init: RequestInit & { reactNative?: { textStreaming?: boolean } } = {}): Promise<Response> {
  return httpFetch(input, init, (res, resolve, reject) => {
    const status = res.statusCode ?? 0;
    // A 204 has no body (Response refuses one).
    const answer = (body: BodyInit) => new Response(status === 204 ? null : body, { status });
    if (init.reactNative?.textStreaming) return resolve(answer(Readable.toWeb(res) as ReadableStream<Uint8Array>));
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("end", () => resolve(answer(Buffer.concat(chunks))));
    res.on("error", reject);
  });
}

/**
 * Replaces this process's globals with what a React Native app has: WebSocket, an XMLHttpRequest
 * with progress events, fetch without response streams, no ReadableStream, no document and no
 * localStorage. `ios`: XMLHttpRequest holds back a response's first 512 bytes, as on iOS.
 * `fetch: "polyfilled"`: fetch, Response and ReadableStream as react-native-polyfill-globals
 * makes them; `fetch: false`: no fetch at all.
 * Undone by vi.unstubAllGlobals().
 */
export function installReactNativeGlobals(options: { fetch?: false | "polyfilled"; ios?: boolean } = {}): void {
  RnXMLHttpRequest.instances = [];
  RnXMLHttpRequest.holdBackBytes = options.ios ? 512 : 0;
  fetchCalls.length = 0;
  vi.stubGlobal("navigator", { product: "ReactNative" });
  vi.stubGlobal("WebSocket", WsWebSocket);
  vi.stubGlobal("XMLHttpRequest", RnXMLHttpRequest);
  if (options.fetch === "polyfilled") {
    // react-native-polyfill-globals: web streams, and a Response with a body (Node's own here).
    vi.stubGlobal("fetch", polyfilledFetch);
  } else {
    vi.stubGlobal("fetch", options.fetch === false ? undefined : rnFetch);
    vi.stubGlobal("Response", RnResponse);
    vi.stubGlobal("ReadableStream", undefined);
  }
  vi.stubGlobal("document", undefined);
  vi.stubGlobal("localStorage", undefined);
}
