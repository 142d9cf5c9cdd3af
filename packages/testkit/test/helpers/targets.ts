import { createServer as createHttpServer, request, type IncomingHttpHeaders } from "node:http";
import { connect, createServer as createNetServer, type AddressInfo, type Server, type Socket } from "node:net";
import { WebSocket, WebSocketServer } from "ws";

/** A server the proxies under test forward to. */
export interface Target {
  readonly host: "127.0.0.1";
  readonly port: number;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** A TCP echo server that also tells the tests about every socket it accepted. */
export async function startEchoServer(): Promise<Target & { readonly sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.pipe(socket);
  });
  const port = await listen(server);
  return {
    host: "127.0.0.1",
    port,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * An HTTP server with a few endpoints, plus a WebSocket server on the same port:
 * - `/echo`: answers JSON with the method, url, headers and body it received;
 * - `/stream?chunks=N&everyMs=M`: writes `chunk i\n` every M ms, N times, then ends;
 * - `/slow?ms=M`: answers `done` after M ms (a long poll that ends in time);
 * - WebSocket `?burst=N&size=S`: sends N messages of S bytes at once on open; otherwise echoes,
 *   and records what it received in `webSocketMessages`.
 */
export async function startHttpTarget(): Promise<Target & { readonly webSocketMessages: readonly string[] }> {
  const webSocketMessages: string[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (fn: () => void, ms: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
    return timer;
  };
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://target");
    const number = (name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);
    if (url.pathname === "/echo") {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString();
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
      });
      return;
    }
    if (url.pathname === "/stream") {
      const chunks = number("chunks", 3);
      const everyMs = number("everyMs", 100);
      res.writeHead(200, { "content-type": "text/plain" });
      let sent = 0;
      const tick = () => {
        res.write(`chunk ${sent}\n`);
        sent += 1;
        if (sent === chunks) return res.end();
        timer = later(tick, everyMs);
      };
      let timer = later(tick, 0);
      res.on("close", () => clearTimeout(timer));
      return;
    }
    if (url.pathname === "/slow") {
      const timer = later(() => res.end("done"), number("ms", 100));
      res.on("close", () => clearTimeout(timer));
      return;
    }
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (socket, req) => {
    const url = new URL(req.url ?? "/", "http://target");
    const burst = Number(url.searchParams.get("burst") ?? 0);
    const size = Number(url.searchParams.get("size") ?? 8);
    for (let i = 0; i < burst; i += 1) socket.send(`${i}`.padEnd(size, "."));
    socket.on("message", (data, isBinary) => {
      webSocketMessages.push(String(data));
      socket.send(data, { binary: isBinary });
    });
  });
  const port = await listen(server);
  return {
    host: "127.0.0.1",
    port,
    webSocketMessages,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** What a test client saw of one HTTP exchange. */
export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** Milliseconds from the request to each body chunk. */
  readonly chunkTimesMs: number[];
}

/** One HTTP request on a fresh connection (no pooling, so nothing outlives the test). */
export function fetchText(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const startedAt = performance.now();
  return new Promise<Reply>((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", headers: init.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const chunkTimesMs: number[] = [];
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        chunkTimesMs.push(performance.now() - startedAt);
      });
      res.on("error", reject);
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), chunkTimesMs }),
      );
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

/** Resolves once `socket` closes, with the close code and the ms since the call. */
export function closeOf(socket: WebSocket): Promise<{ code: number; afterMs: number }> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    socket.on("error", () => {});
    socket.on("close", (code) => resolve({ code, afterMs: performance.now() - startedAt }));
  });
}

/** Resolves when `socket` opens; rejects on an error or an unexpected HTTP answer first. */
export function openOf(socket: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
    socket.once("unexpected-response", (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

/** A raw TCP client that gathers everything it receives. */
export function tcpClient(port: number) {
  const socket = connect({ host: "127.0.0.1", port });
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  const connected = new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return {
    socket,
    connected,
    closed,
    get received() {
      return received;
    },
    /** Resolves once the received text has reached `length` characters. */
    receive(length: number): Promise<string> {
      return new Promise((resolve) => {
        const check = () => {
          if (received.length < length) return;
          socket.off("data", check);
          resolve(received);
        };
        socket.on("data", check);
        check();
      });
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
