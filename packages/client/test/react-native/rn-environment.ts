import { request as httpRequest } from "node:http";
import type { ClientRequest } from "node:http";
import { vi } from "vitest";
import { WebSocket as WsWebSocket } from "ws";

/**
 * React Native's XMLHttpRequest as far as Lifeline sees it: a text response that grows on every
 * `progress` event (RN's incremental updates), built on node:http. One instance per request.
 */
export class RnXMLHttpRequest {
  static instances: RnXMLHttpRequest[] = [];
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
      this.status = res.statusCode ?? 0;
      this.state(2);
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (this.aborted) return;
        this.responseText += chunk;
        if (this.readyState < 3) this.state(3);
        this.progressEvents++;
        this.onprogress?.();
      });
      res.on("end", () => {
        if (this.aborted) return;
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

/** React Native's fetch: whole responses only. Built on node:http so no ReadableStream is needed. */
export function rnFetch(input: string, init: RequestInit = {}): Promise<RnResponse> {
  const method = init.method ?? "GET";
  fetchCalls.push(`${method} ${input}`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(input, { method, headers: init.headers as Record<string, string> }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve(new RnResponse(res.statusCode ?? 0, text)));
      res.on("error", reject);
    });
    req.on("error", reject);
    init.signal?.addEventListener("abort", () => {
      req.destroy();
      reject(new Error("aborted"));
    });
    req.end(typeof init.body === "string" ? init.body : undefined);
  });
}

/**
 * Replaces this process's globals with what a React Native app has: WebSocket, an XMLHttpRequest
 * with progress events, fetch without response streams, no ReadableStream, no document and no
 * localStorage. Undone by vi.unstubAllGlobals().
 */
export function installReactNativeGlobals(options: { fetch?: boolean } = {}): void {
  RnXMLHttpRequest.instances = [];
  fetchCalls.length = 0;
  vi.stubGlobal("navigator", { product: "ReactNative" });
  vi.stubGlobal("WebSocket", WsWebSocket);
  vi.stubGlobal("XMLHttpRequest", RnXMLHttpRequest);
  vi.stubGlobal("fetch", options.fetch === false ? undefined : rnFetch);
  vi.stubGlobal("Response", RnResponse);
  vi.stubGlobal("ReadableStream", undefined);
  vi.stubGlobal("document", undefined);
  vi.stubGlobal("localStorage", undefined);
}
