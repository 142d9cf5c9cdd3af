import { CloseCode, Endpoint, createLineSplitter, decodeServerFrame, encodeClientBatch, uploadAllowanceMs } from "@lifeline/protocol";
import type { ClientFrame, Frame } from "@lifeline/protocol";
import type { TimerId } from "../clock.js";
import type { Capabilities } from "../env.js";
import { linkClose, serverClose } from "../errors.js";
import { endpointUrl } from "../url.js";
import type { LinkClose, TransportOpenOptions } from "./transport.js";

/** What both HTTP transports share: one downstream, upstream by POST, one ending. */

/**
 * A ping in a batch longer than this goes up on its own (see send()): at the upload rate a POST
 * is allowed (uploadAllowanceMs), the rest of the body would hold its answer back by more than a
 * second. A shorter batch keeps it, so that a ping and a message sent together (at every open)
 * cost one request.
 */
const PING_WAITS_MAX_CHARS = 4096;

/**
 * Once our close frame is queued, what is left goes up as one keepalive fetch, which a browser
 * sends through even when the page goes away, up to this long: keepalive bodies in flight may not
 * pass 64 KiB, and a character is at most 3 bytes of UTF-8. (The server reads any body of up to
 * 64 KiB, whatever its message limit.)
 */
const KEEPALIVE_MAX_CHARS = 2 ** 16 / 3;

/** Whether fetch can hand a response over as it arrives (a body stream, and a decoder for it). */
export const canStreamFetch = (caps: Capabilities) => !!(caps.fetch && caps.fetchStreams && caps.TextDecoder);

/** An endless answer (a stream) that a fetch can give only whole. */
class CannotStream extends Error {}

export interface HttpResponse {
  readonly status: number;
  readonly text: string;
}

export interface PendingRequest {
  readonly response: Promise<HttpResponse>;
  abort(): void;
}

/**
 * One request with a text body, by fetch where there is one, else XMLHttpRequest. Never throws:
 * a request that cannot even start (a fetch that throws, no AbortController) is a failed one.
 * With `onText`, a 200 answer's text goes there as it arrives, where the platform can tell (a
 * fetch with response streams, else XMLHttpRequest's progress events), and `text` is the rest.
 * An `endless` answer (a stream) must arrive so: a fetch that gives it only whole fails it.
 * A `keepalive` fetch outlives the page (XMLHttpRequest has no such thing).
 */
export function request(caps: Capabilities, method: "GET" | "POST", url: string, body?: string, onText?: (text: string) => void, endless?: boolean, keepalive?: boolean): PendingRequest {
  try {
    return start(caps, method, url, body, onText, endless, keepalive);
  } catch (error) {
    return { response: Promise.reject(error), abort() {} };
  }
}

function start(caps: Capabilities, method: "GET" | "POST", url: string, body?: string, onText?: (text: string) => void, endless?: boolean, keepalive?: boolean): PendingRequest {
  const streams = canStreamFetch(caps);
  // React Native's fetch reads a response only whole; its XMLHttpRequest reports progress.
  if (streams || (caps.fetch && (!onText || !caps.XMLHttpRequest))) {
    const controller = new AbortController();
    // reactNative.textStreaming: React Native's fetch polyfill (react-native-fetch-api) has body
    // streams, but answers only once a response is whole without it; other fetches ignore it.
    const init = { method, signal: controller.signal, cache: "no-store", keepalive, reactNative: { textStreaming: true } } as RequestInit;
    // text/plain keeps cross-origin POSTs "simple": no CORS preflight round trip.
    if (body !== undefined) Object.assign(init, { body, headers: { "content-type": "text/plain;charset=UTF-8" } });
    return {
      response: caps.fetch!(url, init).then(async (res) => {
        // A fetch passed in options may be one whose Response has no body stream (a polyfill).
        const reader = onText && streams && res.status === 200 && res.body?.getReader?.();
        if (!reader) {
          // Its end would never come: waiting for it would leave the link silent until a timeout.
          if (endless && res.status === 200) throw new CannotStream("fetch cannot stream");
          return { status: res.status, text: await res.text() };
        }
        const decoder = new caps.TextDecoder!();
        for (let chunk; !(chunk = await reader.read()).done; ) onText(decoder.decode(chunk.value, { stream: true }));
        return { status: 200, text: decoder.decode() };
      }),
      abort: () => controller.abort(),
    };
  }
  const xhr = new caps.XMLHttpRequest!();
  let seen = 0;
  return {
    response: new Promise((resolve, reject) => {
      xhr.open(method, url);
      if (body !== undefined) xhr.setRequestHeader("content-type", "text/plain;charset=UTF-8");
      if (onText) {
        xhr.onprogress = () => {
          if (xhr.status !== 200) return;
          const text = xhr.responseText;
          const from = seen;
          // Moved on first: text a throwing onText left half read must not come again.
          seen = text.length;
          onText(text.slice(from));
        };
      }
      xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText.slice(seen) });
      // An abort we did not ask for (window.stop() in a browser) fails the request too.
      xhr.onabort = xhr.onerror = xhr.ontimeout = () => reject(new Error("network error"));
      xhr.send(body ?? null);
    }),
    abort: () => {
      xhr.onabort = xhr.onload = xhr.onerror = xhr.ontimeout = xhr.onprogress = null;
      xhr.abort();
    },
  };
}

/**
 * How a refused request ends the link: the close frame in its body (the server always sends
 * one). A status without one comes from something in between (a proxy's page, say): a retryable
 * loss of this link only, since a proxy that blocks one transport says nothing about the others;
 * except 413, as the same body would be refused again.
 */
export function closeForResponse(status: number, text: string): LinkClose {
  let frame: Frame | undefined;
  try {
    frame = decodeServerFrame(text.trim());
  } catch {
    // Not a Lifeline error body: fall back to the status.
  }
  if (frame?.type === "close") return serverClose(frame);
  return linkClose(status === 413 ? CloseCode.MESSAGE_TOO_LARGE : CloseCode.ABNORMAL, `HTTP ${status}`);
}

/** This link is lost (1006, retryable): the network or something in between failed it. */
export function linkLost(reason: string, cause?: unknown): LinkClose {
  return linkClose(CloseCode.ABNORMAL, reason, undefined, cause);
}

export const closeForNetworkError = (cause: unknown) => linkLost("network error", cause);

export interface HttpLink {
  readonly helloBody: string;
  /** True once the link ended, by either side. */
  ended(): boolean;
  /** True once the server's welcome arrived. */
  welcomed(): boolean;
  /**
   * True when neither part of a line nor part of a message is held back: no message sent in
   * parts (protocol.md, Message parts) is short of its last part. A link renewed inside a
   * message gets all of it again on the next one.
   */
  atMessageEnd(): boolean;
  /**
   * Ends the link to have it replaced at once (LinkClose.renew): the downstream stops, and a POST
   * on its way up goes on, so a slow upload does not start over, until close() gives it up. The
   * batches queued behind it follow it up, unless it fails.
   */
  renew(): void;
  /** Feeds downstream text; complete lines become frames for the handlers. */
  receive(text: string): void;
  /**
   * Runs the link's downstream request to `suffix` (a POST of `body`, else a GET), aborted when
   * the link ends. A 200 answer goes to receive as it arrives where the platform can tell, else
   * whole; an endless one (a stream) goes to `stream` instead, and must arrive so. `done` runs
   * after the last of it unless the link ended meanwhile; any other answer or a failure ends
   * the link.
   */
  download(suffix: string, body: string | undefined, done: () => void, stream?: (text: string) => void): void;
  end(info: LinkClose): void;
  /**
   * Queues frames for the upstream POST, one request in flight at a time; the frames of a batch
   * with a ping other than its messages go in a request beside it (and beside a long body of its
   * messages), so that a liveness check does not wait for an upload.
   */
  send(frames: readonly ClientFrame[]): void;
  /**
   * Ends the link from our side and calls no handler. After our close frame, frames already
   * passed to send() are still posted (in one keepalive fetch where they fit), so the close
   * frame reaches the server; the downstream request is aborted. Without one (a link lost or
   * replaced), every request and timer ends now: the next link sends again what the server has
   * not acknowledged, and nothing of this one outlives the connection's close().
   */
  close(): void;
}

export function createHttpLink({ url, query, hello, caps, handlers, clock }: TransportOpenOptions): HttpLink {
  const splitter = createLineSplitter();
  let abortDownstream: (() => void) | undefined;
  let sessionId = "";
  let maxMessageBytes = 0;
  // A POST that never answers would hold every later frame back while polls keep the link
  // looking alive: it gets as long as the heartbeat gives a silent link.
  let sendTimeoutMs = 0;
  let sendTimer: TimerId | undefined;
  let failTimer: TimerId | undefined;
  let ended = false;
  // Our close frame is queued or on its way: the session ends with this link.
  let goodbye = false;
  let inMessage = false;
  // Encoded batches, one per send(): the uplink bounds each to what the server accepts.
  let queue: string[] = [];
  // The POST in flight and its body.
  let posting: { readonly request: PendingRequest; readonly body: string } | undefined;
  // The request of the latest ping sent on its own (see send()), until it is answered.
  let pingAside: PendingRequest | undefined;

  // The hello's attempt names this link on its requests: the server answers a poll of an older
  // link at once instead of letting it take frames meant for the current one.
  const attempt = hello.type === "hello" && hello.attempt !== undefined ? "&attempt=" + hello.attempt : "";
  const endpoint = (suffix: string) => endpointUrl(url, suffix, query, sessionId && "sid=" + encodeURIComponent(sessionId) + attempt);
  const stop = () => {
    ended = true;
    queue = [];
    clock.clearTimeout(sendTimer);
    clock.clearTimeout(failTimer);
    posting?.request.abort();
    pingAside?.abort();
    abortDownstream?.();
  };
  const end = (info: LinkClose) => {
    if (ended) return;
    stop();
    handlers.onClose(info);
  };
  // A request failed. The link ends a task later: a browser aborts a page's requests as it
  // starts to unload, and the app's pagehide listeners (one task) must still find it open, so
  // that close() there sends the last frames.
  const failed = (info: LinkClose) => {
    if (!ended && failTimer === undefined) failTimer = clock.setTimeout(() => end(info), 0);
  };

  /**
   * Whether a send's answer says its frames arrived. The server answers with an empty 2xx (204).
   * A page instead (a captive portal) means the frames never reached it: the link is lost, so
   * the resume sends them again.
   */
  const delivered = (status: number, text: string) => {
    if (status >= 300) end(closeForResponse(status, text));
    else if (text.trim()) end(linkLost("unexpected answer to send"));
    else return true;
    return false;
  };

  const post = () => {
    // Small batches queued behind a POST in flight go together; large ones go one by one. They
    // are merged into one body of at most half the server's message limit in characters: even at
    // 3 UTF-8 bytes each, that stays well within its body limit (maxBodyBytes: 6 × the message
    // limit + 64 KiB), and one POST carries thousands of small messages.
    let body = queue.shift()!;
    const limit = Math.max(maxMessageBytes / 2, goodbye ? KEEPALIVE_MAX_CHARS : 0);
    while (queue.length && body.length + queue[0]!.length < limit) body += "\n" + queue.shift();
    const pending = request(caps, "POST", endpoint(Endpoint.send), body, undefined, false, goodbye && body.length <= KEEPALIVE_MAX_CHARS);
    posting = { request: pending, body };
    if (sendTimeoutMs) {
      // A POST stuck for good is rare (the downstream's heartbeat usually ends such a link first).
      const timeoutMs = uploadAllowanceMs(sendTimeoutMs, body.length);
      sendTimer = clock.setTimeout(() => {
        // After close() the link is already ended: the request is only given up.
        const quiet = ended;
        stop();
        if (!quiet) handlers.onClose(linkLost(`send got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
    }
    pending.response.then(
      ({ status, text }) => {
        // A POST given up for the link's last one (send()) has nothing more to do.
        if (posting?.request !== pending) return;
        clock.clearTimeout(sendTimer);
        posting = undefined;
        // Also after close(): the last frames (the close frame) still go, in order.
        if (delivered(status, text) && queue.length) post();
      },
      (error) => {
        if (posting?.request !== pending) return;
        clock.clearTimeout(sendTimer);
        posting = undefined;
        // After close() the frames behind the failed one (the close frame) still get their try.
        // A renewed link stops here: they would skip a seq, and the next link sends them again.
        if (ended && goodbye && queue.length) return post();
        // Until the link ends, a task later, its frames go again in front of a close frame.
        queue.unshift(body);
        failed(closeForNetworkError(error));
      },
    );
  };

  const receive = (text: string) => {
    const frames: Frame[] = [];
    try {
      for (const line of splitter.push(text)) {
        const frame = decodeServerFrame(line);
        if (frame?.type === "welcome") {
          ({ sessionId, maxMessageBytes } = frame);
          sendTimeoutMs = frame.pingIntervalMs + frame.pingTimeoutMs;
        }
        if (frame) {
          frames.push(frame);
          // A message in parts is open until the part that reaches its total.
          if (frame.type === "part") inMessage = frame.offset + frame.payload.length < frame.total;
        }
      }
    } catch (cause) {
      // The server only writes frames: text that is not one comes from something in between
      // (a captive portal's page, say), so this link is lost, not the protocol broken.
      return end(linkLost("unreadable response", cause));
    }
    // After the welcome, part of a line is life too (an empty batch says so): a large message
    // on a slow downlink may take longer to arrive than the heartbeat allows a silent link.
    // An empty answer is not: something answering every poll at once must not look alive.
    if (frames.length || (sessionId && splitter.pendingLength)) handlers.onFrames(frames);
  };

  return {
    helloBody: encodeClientBatch([hello]),
    ended: () => ended,
    welcomed: () => !!sessionId,
    atMessageEnd: () => !splitter.pendingLength && !inMessage,
    renew() {
      if (ended) return;
      ended = true;
      abortDownstream?.();
      handlers.onClose({ ...linkLost("stream renewed"), renew: true });
    },
    end,
    receive,
    download(suffix, body, done, stream) {
      const read = stream ?? receive;
      const pending = request(caps, body === undefined ? "GET" : "POST", endpoint(suffix), body, (text) => ended || (handlers.onAlive?.(), read(text)), !!stream);
      abortDownstream = pending.abort;
      pending.response.then(
        ({ status, text }) => {
          if (ended) return;
          if (status !== 200) return end(closeForResponse(status, text));
          read(text);
          if (!ended) done();
        },
        (error) => (error instanceof CannotStream ? end(linkClose(CloseCode.ABNORMAL, error.message, "TRANSPORT_UNAVAILABLE")) : failed(closeForNetworkError(error))),
      );
    },
    send(frames) {
      if (ended) return;
      const closing = frames.some(({ type }) => type === "close");
      let batch = encodeClientBatch(frames);
      // A ping must not wait for an upload: a check after a foreground or network change gives
      // the link only the heartbeat's timeout to answer, and the server reads a body whole before
      // its frames. So the other frames of a batch with a ping (they have no place in the
      // messages' order) go in a request of their own, beside the POST in flight or beside a
      // long one with the batch's messages. A newer ping replaces one still unanswered: the
      // heartbeat judges the link, and a hung request must not hold later pings back.
      if (!goodbye && !closing && (posting || batch.length > PING_WAITS_MAX_CHARS) && frames.some(({ type }) => type === "ping")) {
        const messages = frames.filter(({ type }) => type === "message");
        const unanswered = pingAside;
        const pending = (pingAside = request(caps, "POST", endpoint(Endpoint.send), encodeClientBatch(frames.filter(({ type }) => type !== "message"))));
        unanswered?.abort();
        pending.response.then(
          ({ status, text }) => {
            if (pingAside !== pending) return;
            pingAside = undefined;
            delivered(status, text);
          },
          (error) => pingAside === pending && failed(closeForNetworkError(error)),
        );
        if (!messages.length) return;
        batch = encodeClientBatch(messages);
      }
      queue.push(batch);
      // With our close frame, what is left goes as one keepalive fetch, which outlives a page
      // that is going away. A POST still in flight would hold it back until the page is gone,
      // so that one is given up and its body goes again in front: the server drops the
      // messages it already has by seq, and a repeated ping or ack is harmless.
      if (closing) {
        goodbye = true;
        if (posting && posting.body.length + queue.join().length < KEEPALIVE_MAX_CHARS) {
          clock.clearTimeout(sendTimer);
          posting.request.abort();
          queue.unshift(posting.body);
          posting = undefined;
        }
      }
      if (!posting) post();
    },
    close: () => {
      if (!goodbye) return stop();
      if (ended) return;
      // Downstream stops now; upstream drains what was sent before close() and then stops.
      ended = true;
      clock.clearTimeout(failTimer);
      pingAside?.abort();
      abortDownstream?.();
    },
  };
}
