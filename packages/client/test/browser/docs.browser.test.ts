import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { createFaultProxy } from "@lifeline/testkit";
import { launchChromium, startEchoServer, startStaticServer, unavailable, type EchoServer, type StaticServer } from "./harness.js";

/**
 * The copy-paste snippets of docs/getting-started.md, run as written in Chromium. Only the CDN
 * origin (served from the local build) and the example server URL are swapped.
 */

const docs = readFileSync(new URL("../../../../docs/getting-started.md", import.meta.url), "utf8");
const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

function snippet(name: string, language = "html"): string {
  const match = new RegExp(`<!-- snippet: ${name}\\b[^>]*-->\\s*\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(docs);
  if (!match) throw new Error(`docs/getting-started.md has no "${name}" snippet`);
  return match[1]!;
}

const reason = unavailable();
if (reason && process.env["CI"]) {
  describe("getting-started snippets", () => {
    it("can run", () => {
      throw new Error(`the browser tests cannot run: ${reason}`);
    });
  });
}

(reason ? describe.skip : describe)(reason ? `getting-started snippets (skipped: ${reason})` : "getting-started snippets", () => {
  let browser: Browser;
  let statics: StaticServer;
  let echo: EchoServer;

  beforeAll(async () => {
    [browser, statics, echo] = await Promise.all([launchChromium(), startStaticServer(), startEchoServer()]);
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([statics?.close(), echo?.server.close()]);
  });

  it.each(["cdn-script", "cdn-module"])("%s: connects and gets its echo", async (name) => {
    const html = snippet(name);
    const cdn = /https:\/\/(?:unpkg\.com|cdn\.jsdelivr\.net\/npm)\/@lifeline\/client@([^/]+)\/dist\//g;
    expect([...html.matchAll(cdn)].map((m) => m[1])).toEqual([version]);
    statics.page(name, html.replace(cdn, "/dist/").replace("https://example.com/lifeline", echo.url));

    const page = await browser.newPage();
    const logged: string[] = [];
    const echoed = new Promise<void>((resolve) => {
      page.on("console", (message) => {
        logged.push(message.text());
        if (message.text() === "received hello") resolve();
      });
    });
    page.on("pageerror", (error) => logged.push(`page error: ${error.message}`));
    await page.goto(`${statics.url}/${name}.html`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no echo; console: ${logged.join(" | ")}`)), 15_000);
    });
    await Promise.race([echoed, timeout]).finally(() => clearTimeout(timer));
    if (name === "cdn-script") expect(logged).toContain("connected over websocket");
    expect(logged.filter((line) => line.startsWith("page error"))).toEqual([]);
    await page.close();
  });

  it("worker-page and worker-script: the worker connects, and hears the page's offline, online, visibility and leaving", async () => {
    const cdn = /https:\/\/unpkg\.com\/@lifeline\/client@([^/]+)\/dist\//g;
    const worker = snippet("worker-script", "js");
    expect([...worker.matchAll(cdn)].map((m) => m[1])).toEqual([version]);
    const options = "{ netInfo, appState }";
    expect(worker).toContain(options);
    // Retries wait 30 to 60 s here: only a signal the page passed on brings the link back in time.
    const slowRetries = worker.replace(options, "{ netInfo, appState, reconnect: { initialDelay: 60000 } }");
    const faults = await createFaultProxy({ target: { host: "127.0.0.1", port: echo.port } });
    statics.script("/chat-worker.js", slowRetries.replace(cdn, `${statics.url}/dist/`).replace("https://example.com/lifeline", `${faults.url}/lifeline`));
    statics.page("worker-page", snippet("worker-page"));
    let stopWatching = () => {};
    const closed = new Promise<{ code: number }>((resolve) => {
      stopWatching = echo.server.on("connection", (session) => {
        stopWatching();
        session.on("close", resolve);
      });
    });

    const context = await browser.newContext();
    const page = await context.newPage();
    const logged: string[] = [];
    page.on("console", (message) => logged.push(message.text()));
    page.on("pageerror", (error) => logged.push(`page error: ${error.message}`));
    /** Waits up to 15 s for a console line that starts with `start`, after the first `after` lines. */
    const line = async (start: string, after = 0) => {
      for (const deadline = Date.now() + 15_000; !logged.slice(after).some((text) => text.startsWith(start)); ) {
        if (Date.now() > deadline) throw new Error(`no "${start}" in the console: ${logged.join(" | ")}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      await page.goto(`${statics.url}/worker-page.html`);
      await line("received hello");
      await line("open:");
      // Chromium fires neither offline nor online in a worker: the page's, passed on, drop the
      // link at once (the heartbeat would take up to 25 s) and bring it back.
      let mark = logged.length;
      await context.setOffline(true);
      await line("reconnecting: the device went offline", mark);
      mark = logged.length;
      await context.setOffline(false);
      await line("open:", mark);
      // A link lost for another reason waits for its retry, until the page is seen again.
      mark = logged.length;
      faults.cut();
      await line("reconnecting:", mark);
      mark = logged.length;
      await page.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
      await line("open:", mark);
      // Leaving the page ends the session now, not after the server's resume window.
      await page.goto("about:blank");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const info = await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(() => resolve("still open after 5 s"), 5_000)))]);
      clearTimeout(timer);
      expect(info).toMatchObject({ code: 1000 });
      expect(logged.filter((text) => text.startsWith("page error"))).toEqual([]);
    } finally {
      stopWatching();
      await context.close();
      await faults.close();
    }
  });
});
