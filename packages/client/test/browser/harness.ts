import { existsSync, readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { createServer, type LifelineServer, type Session } from "@lifeline/server";

/**
 * What the real-browser tests share: Chromium through playwright-core (never downloaded), a
 * static server for the test pages and the built client, and the reference server.
 */

export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export const clientDist = fileURLToPath(new URL("../../dist/", import.meta.url));
const BUILT_FILES = ["lifeline.min.js", "lifeline.esm.min.js", "index.js"];

/**
 * Why the browser suite cannot run here, or null when it can. Under CI the suite must run, so
 * the caller turns a reason into a failure there instead of a skip.
 */
export function unavailable(): string | null {
  if (!existsSync(CHROMIUM)) return `Chromium not found at ${CHROMIUM} (install it, e.g. apt-get install chromium, or set CHROMIUM_PATH)`;
  const missing = BUILT_FILES.filter((file) => !existsSync(join(clientDist, file)));
  if (missing.length) return `the client is not built (${missing.join(", ")} missing in packages/client/dist); run \`npm run build\` first`;
  return null;
}

/** Chromium as the tests run it; `backForwardCache` turns on the cache playwright turns off. */
export const launchChromium = ({ backForwardCache = false } = {}): Promise<Browser> =>
  chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, ...(backForwardCache && { ignoreDefaultArgs: ["--disable-back-forward-cache"] }) });

/**
 * Installed in every test page after the library loads (as `window.lib`): records what the
 * connection reports, so the tests read plain data back with page.evaluate.
 */
const PAGE_HELPERS = `
window.record = { opens: [], messages: [], closes: [], errors: [] };
window.start = (url, options) => {
  const conn = window.lib.connect(url, options);
  window.conn = conn;
  conn.on("open", (info) => window.record.opens.push({ transport: info.transport, resumed: info.resumed }));
  conn.on("message", (data) =>
    window.record.messages.push(typeof data === "string" ? { text: data } : { bytes: Array.from(data), isUint8Array: data instanceof Uint8Array }),
  );
  conn.on("close", (info) => window.record.closes.push(info));
  conn.on("error", (error) => window.record.errors.push({ code: error.code, message: error.message }));
};
`;

/** The two ways to load the built client: a classic script tag (the CDN IIFE) and an ES module import. */
export const PAGES = {
  iife: `<!doctype html><meta charset="utf-8"><title>IIFE</title>
<script src="/dist/lifeline.min.js"></script>
<script>window.lib = window.Lifeline; ${PAGE_HELPERS} window.ready = true;</script>`,
  esm: `<!doctype html><meta charset="utf-8"><title>ESM</title>
<script type="module">import * as lib from "/dist/index.js"; window.lib = lib; ${PAGE_HELPERS} window.ready = true;</script>`,
} as const;
export type PageName = keyof typeof PAGES;

const TYPES: Record<string, string> = { ".js": "text/javascript", ".map": "application/json", ".html": "text/html" };

export interface StaticServer {
  readonly url: string;
  /** Serves `html` at `/<name>.html` from now on. */
  page(name: string, html: string): void;
  /** Serves `code` as JavaScript at `path` from now on. */
  script(path: string, code: string): void;
  close(): Promise<void>;
}

/** Serves test pages from memory and the files of packages/client/dist under /dist/. */
export async function startStaticServer(): Promise<StaticServer> {
  const pages = new Map<string, { body: string; type: string }>(Object.entries(PAGES).map(([name, html]) => [`/${name}.html`, { body: html, type: "text/html" }]));
  const server: Server = createHttpServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const served = pages.get(path);
    if (served !== undefined) {
      // no-cache, not no-store: fetched afresh on every load, yet free to enter the back/forward cache.
      res.writeHead(200, { "content-type": `${served.type}; charset=utf-8`, "cache-control": "no-cache" });
      return res.end(served.body);
    }
    if (path.startsWith("/dist/")) {
      const file = normalize(join(clientDist, path.slice("/dist/".length)));
      if (file.startsWith(clientDist) && existsSync(file)) {
        res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
        return res.end(readFileSync(file));
      }
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    page: (name, html) => void pages.set(`/${name}.html`, { body: html, type: "text/html" }),
    script: (path, code) => void pages.set(path, { body: code, type: "text/javascript" }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface EchoServer {
  readonly server: LifelineServer;
  /** http://127.0.0.1:<port>/lifeline */
  readonly url: string;
  readonly port: number;
  session(id: string | null | undefined): Session;
}

/** The reference server on a free port, echoing every message back to its sender. */
export async function startEchoServer(): Promise<EchoServer> {
  const server = createServer({ path: "/lifeline" });
  server.on("connection", (session) => session.on("message", (data) => session.send(data)));
  const { url } = await server.listen(0, "127.0.0.1");
  return {
    server,
    url,
    port: Number(new URL(url).port),
    session(id) {
      const found = [...server.sessions].find((session) => session.id === id);
      if (!found) throw new Error(`no session ${String(id)} on the server`);
      return found;
    },
  };
}

/** Opens one of the pages and waits until its script has run. */
export async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(url);
  try {
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, null, { timeout: 10_000 });
  } catch (error) {
    throw new Error(`${url} did not load: ${problems.join("; ") || String(error)}`);
  }
  return page;
}
