// @ts-check
// The playground: one node:http server that serves the page, the client build and the Lifeline
// reference endpoint, plus two control routes: push to every session, and drop every link.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "@lifeline/server";

const here = dirname(fileURLToPath(import.meta.url));

// Resolved through the workspace dependency, so the page gets exactly the build users get.
const clientDist = join(dirname(createRequire(import.meta.url).resolve("@lifeline/client/package.json")), "dist");

/** Where the browser build of the client (global `Lifeline`) is read from. */
export const clientBuildPath = join(clientDist, "lifeline.min.js");

/** Base path of the Lifeline endpoints, relative to the page. */
export const ENDPOINT_PATH = "/lifeline";

const JS = "text/javascript; charset=utf-8";
const JSON_TYPE = "application/json; charset=utf-8";

/** @type {Record<string, { file: string, type: string }>} */
const FILES = {
  "/": { file: join(here, "index.html"), type: "text/html; charset=utf-8" },
  "/index.html": { file: join(here, "index.html"), type: "text/html; charset=utf-8" },
  "/app.js": { file: join(here, "app.js"), type: JS },
  "/lifeline.min.js": { file: clientBuildPath, type: JS },
  "/lifeline.min.js.map": { file: `${clientBuildPath}.map`, type: JSON_TYPE },
  "/lifeline.esm.min.js": { file: join(clientDist, "lifeline.esm.min.js"), type: JS },
  "/lifeline.esm.min.js.map": { file: join(clientDist, "lifeline.esm.min.js.map"), type: JSON_TYPE },
};

/**
 * @param {import("node:http").ServerResponse} res
 * @param {number} status
 * @param {string} type
 * @param {string | Buffer} body
 */
function reply(res, status, type, body) {
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
  res.end(body);
}

/**
 * @param {import("node:http").ServerResponse} res
 * @param {string} file
 * @param {string} type
 */
async function sendFile(res, file, type) {
  try {
    reply(res, 200, type, await readFile(file));
  } catch (error) {
    const missing = /** @type {NodeJS.ErrnoException} */ (error).code === "ENOENT";
    if (missing && file.startsWith(clientDist)) {
      // The page notices the missing global and says so; this body is for curl and devtools.
      reply(res, 503, "text/plain; charset=utf-8", `client build not found at ${file}: run "npm run build" (or "npm run playground", which builds first)\n`);
    } else {
      reply(res, missing ? 404 : 500, "text/plain; charset=utf-8", missing ? "not found\n" : "could not read file\n");
    }
  }
}

/**
 * Starts the playground.
 * @param {{ port?: number, host?: string, outageMs?: number, log?: (line: string) => void }} [options]
 *   port: default 8080 (0 picks a free one); host: default "127.0.0.1"; outageMs: how long
 *   "drop" refuses new connections (default 1500); log: receives one line per session opened or
 *   closed (default: silent).
 * @returns {Promise<{ url: string, endpoint: string, close: () => Promise<void> }>}
 *   url: the page; endpoint: what `connect()` takes; close: stops everything, idempotent.
 */
export async function startPlayground({ port = 8080, host = "127.0.0.1", outageMs = 1500, log = () => {} } = {}) {
  const lifeline = createServer({ path: ENDPOINT_PATH });
  let pushes = 0;
  // Until this time (Date.now() scale) new TCP connections are cut as soon as they arrive.
  let outageUntil = 0;

  lifeline.on("connection", (session) => {
    log(`session ${session.id} opened over ${session.transport}`);
    session.on("message", (data) => session.send(data));
    session.on("close", ({ code, reason }) => log(`session ${session.id} closed: ${code}${reason ? ` ${reason}` : ""}`));
  });

  /** Every TCP socket, upgraded WebSockets included, so "drop" can cut them like a network would. */
  const sockets = new Set(/** @type {import("node:net").Socket[]} */ ([]));

  /**
   * @param {import("node:http").IncomingMessage} req
   * @param {import("node:http").ServerResponse} res
   * @param {"push" | "drop"} action
   */
  function control(req, res, action) {
    if (req.method !== "POST") {
      res.setHeader("Allow", "POST");
      return reply(res, 405, "text/plain; charset=utf-8", "use POST\n");
    }
    // Drain the body (there is none to speak of) so the connection stays reusable.
    req.resume();
    const sessions = [...lifeline.sessions];
    if (action === "push") {
      // Sessions waiting to be resumed get it too: it is replayed once their client is back.
      const text = `server push #${++pushes} at ${new Date().toISOString().slice(11, 19)} UTC`;
      for (const session of sessions) session.send(text);
      return reply(res, 200, JSON_TYPE, JSON.stringify({ sent: text, sessions: sessions.length }));
    }
    // Cutting sockets, rather than closing sessions, is what a network failure looks like: the
    // sessions stay on the server and the clients reconnect and resume them. The short outage
    // matters for long polling: browsers silently retry a held GET whose reused connection
    // died, which would hide the drop.
    const links = sessions.filter((session) => session.transport !== null).length;
    outageUntil = Date.now() + outageMs;
    for (const socket of sockets) if (socket !== req.socket) socket.destroy();
    // Nor may this request's connection outlive the outage: a client would reuse it.
    res.setHeader("Connection", "close");
    return reply(res, 200, JSON_TYPE, JSON.stringify({ links, outageMs }));
  }

  // No limit on how long a request body may take to arrive (Node's default is 5 min): a large
  // message on a throttled link must not be cut off (the server README, requestTimeout).
  const http = createHttpServer({ requestTimeout: 0 }, (req, res) => {
    // Prefixed, not resolved against a base: "//x" must stay a path, not become a host.
    const { pathname } = new URL(`http://localhost${req.url ?? "/"}`);
    if (pathname === "/control/push") return control(req, res, "push");
    if (pathname === "/control/drop") return control(req, res, "drop");
    const entry = Object.hasOwn(FILES, pathname) ? FILES[pathname] : undefined;
    if (!entry) return reply(res, 404, "text/plain; charset=utf-8", "not found\n");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return reply(res, 405, "text/plain; charset=utf-8", "use GET\n");
    }
    void sendFile(res, entry.file, entry.type);
  });
  http.on("connection", (socket) => {
    if (Date.now() < outageUntil) return void socket.destroy();
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  // After the page handler is installed: attach() serves its path and hands the rest on.
  lifeline.attach(http);

  await new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, host, () => {
      http.off("error", reject);
      resolve(undefined);
    });
  });
  const address = /** @type {import("node:net").AddressInfo} */ (http.address());
  const origin = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;

  /** @type {Promise<void> | undefined} */
  let closing;
  return {
    url: `${origin}/`,
    endpoint: `${origin}${ENDPOINT_PATH}`,
    close() {
      closing ??= (async () => {
        await lifeline.close();
        await new Promise((resolve) => {
          http.close(() => resolve(undefined));
          // Keep-alive and upgraded sockets would otherwise hold the port open.
          for (const socket of sockets) socket.destroy();
        });
      })();
      return closing;
    },
  };
}

/** Whether the client build the page loads exists (`npm run build` makes it). */
export function clientBuilt() {
  return existsSync(clientBuildPath);
}
