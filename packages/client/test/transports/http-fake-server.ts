import { afterAll, afterEach, beforeAll, vi } from "vitest";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import type { SetupServer } from "msw/node";
import { decodeBatch, encodeBatch } from "@lifeline/protocol";
import type { Frame, WelcomeFrame } from "@lifeline/protocol";
import { welcomeFrame } from "../helpers/fake-transport.js";

/** Endpoint the HTTP transport tests connect to; msw answers every request under it. */
export const BASE = "http://lifeline.test/lifeline";

/**
 * The msw server of one test file, listening for its tests, with the state of each test undone
 * after it: the connection passed to `closeAfterTest` closes, handlers and stubbed globals reset.
 */
export function useMsw(): { msw: SetupServer; closeAfterTest<T extends { close(): void }>(conn: T): T } {
  // The close frame a connection posts while a test ends may arrive after resetHandlers().
  const msw = setupServer(http.post(`${BASE}/send`, () => new HttpResponse(null, { status: 204 })));
  let open: { close(): void } | undefined;
  beforeAll(() => msw.listen({ onUnhandledRequest: "error" }));
  afterAll(() => msw.close());
  afterEach(() => {
    open?.close();
    open = undefined;
    msw.resetHandlers();
    vi.unstubAllGlobals();
  });
  return { msw, closeAfterTest: (conn) => (open = conn) };
}

/** A welcome with a ping interval long enough that no heartbeat timer fires during a test. */
export const welcome = (overrides: Partial<WelcomeFrame> = {}): WelcomeFrame =>
  welcomeFrame({ sessionId: "sess-1", pingIntervalMs: 60_000, pingTimeoutMs: 60_000, maxMessageBytes: 1 << 20, ...overrides });

/** Body of a refused request, as the server writes it: one close frame. */
export const closeBody = (code: number, reason: string) => encodeBatch([{ type: "close", code, reason }]);

/** A request the fake server holds open; the test decides how it ends. */
export interface HeldRequest {
  readonly request: Request;
  readonly url: URL;
  readonly frames: Frame[];
  /** True once the client aborted the request. */
  readonly aborted: boolean;
  /** True once the request ended, by the client or the server. */
  readonly settled: boolean;
}

/** A streamed response (`POST /stream`): the test writes raw text, cut wherever it likes. */
export interface HeldStream extends HeldRequest {
  write(text: string): void;
  end(): void;
  /** Breaks the response mid-way, as a dropped connection would. */
  fail(): void;
}

/** A held poll (`POST /poll` or `GET /poll`). */
export interface HeldPoll extends HeldRequest {
  respond(frames: readonly Frame[], status?: number): void;
  respondText(text: string, status?: number): void;
}

export interface SentBody {
  readonly url: URL;
  readonly text: string;
  readonly frames: Frame[];
  /** Whether it came as a keepalive fetch (one that outlives the page). */
  readonly keepalive: boolean;
}

/**
 * An imitation of the reference server's HTTP endpoints (docs/protocol.md §2) as msw handlers.
 * Streams and polls are held until the test answers them, so ordering and chunking are exact.
 */
export interface HttpFakeServer {
  readonly streams: HeldStream[];
  readonly polls: HeldPoll[];
  readonly sent: SentBody[];
  /** Resolves when the n-th (1-based) stream / poll / send request has arrived. */
  stream(n: number): Promise<HeldStream>;
  poll(n: number): Promise<HeldPoll>;
  send(n: number): Promise<SentBody>;
  /** Status and body for the next /send requests (default 204, empty). */
  sendReply: { status: number; body: string };
  /** While set, /send requests arrive (`sent`) but get no answer until it resolves. */
  holdSends: Promise<void> | undefined;
  /** Requests still open (neither answered nor aborted). */
  readonly open: HeldRequest[];
}

function waiter<T>(list: T[]) {
  const waiting: { n: number; resolve: (value: T) => void }[] = [];
  return {
    add(item: T) {
      list.push(item);
      for (const w of waiting.filter((w) => list.length >= w.n)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(list[w.n - 1]!);
      }
    },
    wait(n: number) {
      return list.length >= n ? Promise.resolve(list[n - 1]!) : new Promise<T>((resolve) => waiting.push({ n, resolve }));
    },
  };
}

/** Installs the handlers on an msw server (reset between tests by `server.resetHandlers()`). */
export function useHttpFakeServer(msw: SetupServer, base = BASE): HttpFakeServer {
  const streams: HeldStream[] = [];
  const polls: HeldPoll[] = [];
  const sent: SentBody[] = [];
  const all: HeldRequest[] = [];
  const streamWaiter = waiter(streams);
  const pollWaiter = waiter(polls);
  const sentWaiter = waiter(sent);
  const encoder = new TextEncoder();

  const hold = async (request: Request) => {
    const text = await request.text();
    const held = { request, url: new URL(request.url), frames: text ? decodeBatch(text) : [], aborted: false, settled: false };
    request.signal.addEventListener("abort", () => {
      held.aborted = true;
      held.settled = true;
    });
    all.push(held);
    return held;
  };

  const fake: HttpFakeServer = {
    streams,
    polls,
    sent,
    sendReply: { status: 204, body: "" },
    holdSends: undefined,
    stream: streamWaiter.wait,
    poll: pollWaiter.wait,
    send: sentWaiter.wait,
    get open() {
      return all.filter((held) => !held.settled);
    },
  };

  msw.use(
    http.post(`${base}/stream`, async ({ request }) => {
      const held = await hold(request);
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start: (c) => void (controller = c),
        cancel: () => void (held.settled = true),
      });
      const stream: HeldStream = Object.assign(held, {
        write(text: string) {
          if (!held.settled) controller.enqueue(encoder.encode(text));
        },
        end() {
          if (held.settled) return;
          held.settled = true;
          controller.close();
        },
        fail() {
          if (held.settled) return;
          held.settled = true;
          controller.error(new Error("connection reset"));
        },
      });
      streamWaiter.add(stream);
      // msw's XMLHttpRequest interceptor reads the whole body to compute the progress total
      // unless Content-Length is set, which would hold every progress event until the stream
      // ends. A nominal length lets progress events fire per chunk; fetch ignores it.
      const headers = { "content-type": "text/plain; charset=utf-8", "content-length": String(2 ** 30) };
      return new HttpResponse(body, { status: 200, headers });
    }),
    ...(["post", "get"] as const).map((method) =>
      http[method](`${base}/poll`, async ({ request }) => {
        const held = await hold(request);
        return new Promise<Response>((resolve) => {
          const poll: HeldPoll = Object.assign(held, {
            respondText(text: string, status = 200) {
              if (held.settled) return;
              held.settled = true;
              resolve(new HttpResponse(text, { status, headers: { "content-type": "text/plain; charset=utf-8" } }));
            },
            respond(frames: readonly Frame[], status = 200) {
              // A poll body is a batch without a trailing newline.
              poll.respondText(encodeBatch(frames), status);
            },
          });
          pollWaiter.add(poll);
        });
      }),
    ),
    http.post(`${base}/send`, async ({ request }) => {
      const text = await request.text();
      sentWaiter.add({ url: new URL(request.url), text, frames: decodeBatch(text), keepalive: request.keepalive });
      const { status, body } = fake.sendReply;
      await fake.holdSends;
      return new HttpResponse(status === 204 ? null : body, { status });
    }),
  );
  return fake;
}

/** Waits until `check` passes, polling on macrotasks; fails after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** The environment's XMLHttpRequest, recording every request made and whether it was aborted. */
export function spyXhr() {
  const made: { xhr: XMLHttpRequest; url: string; aborted: boolean }[] = [];
  function SpyXMLHttpRequest() {
    const xhr = new XMLHttpRequest();
    const entry = { xhr, url: "", aborted: false };
    const abort = xhr.abort.bind(xhr);
    xhr.abort = () => {
      entry.aborted = true;
      abort();
    };
    const open = xhr.open.bind(xhr) as (method: string, url: string) => void;
    xhr.open = (method: string, url: string | URL) => {
      entry.url = String(url);
      open(method, entry.url);
    };
    made.push(entry);
    return xhr;
  }
  return { made, XMLHttpRequest: SpyXMLHttpRequest as unknown as typeof XMLHttpRequest };
}

