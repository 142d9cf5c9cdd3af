import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { launchChromium, startEchoServer, startStaticServer, unavailable, type EchoServer, type StaticServer } from "./harness.js";

/**
 * The copy-paste snippets of docs/getting-started.md, run as written in Chromium. Only the CDN
 * origin (served from the local build) and the example server URL are swapped.
 */

const docs = readFileSync(new URL("../../../../docs/getting-started.md", import.meta.url), "utf8");
const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

function snippet(name: string): string {
  const match = new RegExp(`<!-- snippet: ${name}\\b[^>]*-->\\s*\`\`\`html\\n([\\s\\S]*?)\`\`\``).exec(docs);
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
});
