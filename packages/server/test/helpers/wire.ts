import { createLineSplitter, decodeBatch, decodeFrame, encodeBatch, PROTOCOL_VERSION } from "@lifeline/protocol";
import type { Frame, WelcomeFrame } from "@lifeline/protocol";
import { request as httpRequest } from "node:http";
import type { ClientRequest } from "node:http";
import { WebSocket } from "ws";

/** Raw protocol peers for tests: a `ws` client and fetch, speaking frames via the codec. */

type FrameOf<T extends Frame["type"]> = Extract<Frame, { type: T }>;

export const hello = (sessionId?: string, ack = 0, version = PROTOCOL_VERSION): Frame =>
  sessionId === undefined ? { type: "hello", version, ack } : { type: "hello", version, sessionId, ack };
export const text = (seq: number, data: string): Frame => ({ type: "message", seq, data });
export const bytes = (seq: number, data: Uint8Array): Frame => ({ type: "message", seq, data });

/** Frames received, awaited in order of arrival; a wait that is not met fails the test. */
export interface Inbox {
  push(frames: readonly Frame[]): void;
  /** Resolves with (and removes) the first frame of this type, waiting if none arrived yet. */
  next<T extends Frame["type"]>(type: T, timeoutMs?: number): Promise<FrameOf<T>>;
  /** Every frame received and not taken by next(). */
  readonly frames: readonly Frame[];
}

export function createInbox(): Inbox {
  const frames: Frame[] = [];
  const waiters: { type: string; resolve: (frame: Frame) => void }[] = [];
  return {
    push(batch) {
      for (const frame of batch) {
        const index = waiters.findIndex((w) => w.type === frame.type);
        if (index >= 0) waiters.splice(index, 1)[0]!.resolve(frame);
        else frames.push(frame);
      }
    },
    next(type, timeoutMs = 5_000) {
      const index = frames.findIndex((f) => f.type === type);
      if (index >= 0) return Promise.resolve(frames.splice(index, 1)[0] as never);
      return new Promise((resolve, reject) => {
        const waiter = {
          type,
          resolve: (frame: Frame) => {
            clearTimeout(timer);
            resolve(frame as never);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no "${type}" frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    get frames() {
      return frames;
    },
  };
}

export interface WsPeer {
  readonly ws: WebSocket;
  readonly inbox: Inbox;
  /** Raw WebSocket messages received, in order. */
  readonly messages: string[];
  send(...frames: Frame[]): void;
  /** Resolves with the WebSocket close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

export const wsUrl = (endpoint: string) => endpoint.replace(/^http/, "ws") + "/ws";

/** Opens a WebSocket to the endpoint; resolves once open. Closed by `peers.closeAll()`. */
export function openWs(endpoint: string, headers: Record<string, string> = {}): Promise<WsPeer> {
  const ws = new WebSocket(wsUrl(endpoint), { headers });
  const inbox = createInbox();
  const messages: string[] = [];
  ws.on("message", (data: Buffer) => {
    messages.push(data.toString());
    inbox.push(decodeBatch(data.toString()));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  openSockets.add(ws);
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, inbox, messages, closed, send: (...frames) => ws.send(encodeBatch(frames)) }));
    ws.once("error", reject);
  });
}

/** Opens a WebSocket session: hello, then the welcome. */
export async function wsSession(endpoint: string, sessionId?: string, ack = 0): Promise<WsPeer & { welcome: WelcomeFrame }> {
  const peer = await openWs(endpoint);
  peer.send(hello(sessionId, ack));
  return { ...peer, welcome: await peer.inbox.next("welcome") };
}

const openSockets = new Set<WebSocket>();
const controllers = new Set<AbortController>();
const stalledRequests = new Set<ClientRequest>();

/** Closes every socket and aborts every request the helpers opened; for afterEach. */
export function closePeers(): void {
  for (const ws of openSockets) ws.terminate();
  openSockets.clear();
  for (const controller of controllers) controller.abort();
  controllers.clear();
  for (const req of stalledRequests) req.destroy();
  stalledRequests.clear();
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly frames: Frame[];
}

/** One request; the answer's body decoded as a batch when it is one. */
export async function request(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  const controller = new AbortController();
  controllers.add(controller);
  try {
    const res = await fetch(url, { method: init.method ?? "GET", body: init.body ?? null, headers: init.headers ?? {}, signal: controller.signal });
    const body = await res.text();
    let frames: Frame[] = [];
    try {
      frames = decodeBatch(body);
    } catch {
      // Not a batch: the test looks at `text`.
    }
    return { status: res.status, headers: res.headers, text: body, frames };
  } finally {
    controllers.delete(controller);
  }
}

export const postFrames = (url: string, frames: readonly Frame[], headers: Record<string, string> = {}) =>
  request(url, { method: "POST", body: encodeBatch(frames), headers: { "content-type": "text/plain;charset=UTF-8", ...headers } });

export interface StreamPeer {
  readonly status: number;
  readonly headers: Headers;
  readonly inbox: Inbox;
  /** Lines received so far, raw. */
  readonly lines: string[];
  /** Resolves when the server ends the response. */
  readonly ended: Promise<void>;
  abort(): void;
}

/** POSTs a hello batch to P/stream and reads the streamed response line by line. */
export async function openStream(endpoint: string, frames: readonly Frame[]): Promise<StreamPeer> {
  const controller = new AbortController();
  controllers.add(controller);
  const res = await fetch(endpoint + "/stream", { method: "POST", body: encodeBatch(frames), headers: { "content-type": "text/plain" }, signal: controller.signal });
  const inbox = createInbox();
  const lines: string[] = [];
  const ended = (async () => {
    if (!res.body) return;
    const splitter = createLineSplitter();
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        // At the end, a newline completes a last line that had none (an error body).
        for (const line of splitter.push(done ? "\n" : decoder.decode(value, { stream: true }))) {
          lines.push(line);
          const frame = decodeFrame(line);
          if (frame) inbox.push([frame]);
        }
        if (done) return;
      }
    } catch {
      // Aborted by the test.
    }
  })();
  return { status: res.status, headers: res.headers, inbox, lines, ended, abort: () => controller.abort() };
}

export interface StalledStream {
  readonly sessionId: string;
  /** Reads the rest, pausing `pauseMs` after every chunk, until the response ends or is cut. */
  readSlowly(pauseMs: number): Promise<{ readonly text: string; readonly complete: boolean }>;
}

/**
 * Opens a stream on a connection of its own, takes the welcome, then reads nothing more: what
 * the server writes after that piles up. Destroyed after the test.
 */
export function openStalledStream(endpoint: string, frames: readonly Frame[]): Promise<StalledStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(endpoint + "/stream", { method: "POST", agent: false, headers: { "content-type": "text/plain" } }, (res) => {
      const splitter = createLineSplitter();
      res.setEncoding("utf8");
      res.on("data", function untilWelcome(chunk: string) {
        const welcome = splitter.push(chunk).map((line) => decodeFrame(line)).find((frame) => frame?.type === "welcome") as WelcomeFrame | undefined;
        if (!welcome) return;
        res.off("data", untilWelcome);
        res.pause();
        const readSlowly = (pauseMs: number) =>
          new Promise<{ text: string; complete: boolean }>((done) => {
            let text = "";
            res.on("data", (more: string) => {
              text += more;
              res.pause();
              setTimeout(() => res.resume(), pauseMs);
            });
            res.once("close", () => done({ text, complete: res.complete }));
            res.resume();
          });
        resolve({ sessionId: welcome.sessionId, readSlowly });
      });
    });
    stalledRequests.add(req);
    req.on("error", reject);
    req.end(encodeBatch(frames));
  });
}

/** A pending GET poll that the test can abort. */
export function startPoll(endpoint: string, sid: string): { answer: Promise<HttpAnswer>; abort(): void } {
  const controller = new AbortController();
  controllers.add(controller);
  const answer = fetch(`${endpoint}/poll?sid=${encodeURIComponent(sid)}`, { signal: controller.signal }).then(async (res) => {
    const body = await res.text();
    controllers.delete(controller);
    return { status: res.status, headers: res.headers, text: body, frames: body ? decodeBatch(body) : [] };
  });
  answer.catch(() => {});
  return { answer, abort: () => controller.abort() };
}

/** Resolves after the server's per-tick flush ran (it runs in setImmediate). */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
