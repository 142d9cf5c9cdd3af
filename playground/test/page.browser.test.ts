import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { launchChromium, unavailable } from "../../packages/client/test/browser/harness.js";
import { startPlayground } from "../server.mjs";

/** The playground page itself, in Chromium: what it shows matches what the connection does. */

const reason = unavailable();
if (reason && process.env["CI"]) {
  describe("playground page in Chromium", () => {
    it("can run", () => {
      throw new Error(`the browser tests cannot run: ${reason}`);
    });
  });
}

(reason ? describe.skip : describe)(reason ? `playground page in Chromium (skipped: ${reason})` : "playground page in Chromium", () => {
  let browser: Browser;
  let playground: Awaited<ReturnType<typeof startPlayground>>;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    [browser, playground] = await Promise.all([launchChromium(), startPlayground({ port: 0, host: "127.0.0.1", outageMs: 200 })]);
  });
  afterAll(async () => {
    await browser?.close();
    await playground?.close();
  });

  async function openPage(viewport = { width: 1000, height: 800 }): Promise<Page> {
    const page = await (await browser.newContext({ viewport })).newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(playground.url);
    return page;
  }
  const text = (page: Page, id: string) => page.locator(`#${id}`).textContent();
  const logged = (page: Page, kind: string, part: string) => page.locator(`#log li.${kind}`, { hasText: part }).first().waitFor();
  const sessionsOnServer = async () => ((await (await fetch(new URL("/control/push", playground.url), { method: "POST" })).json()) as { sessions: number }).sessions;

  it("connects, echoes, shows a push, resumes after a drop, and logs the transport", async () => {
    const page = await openPage();
    try {
      await walkThrough(page);
    } finally {
      // Closed even when a step fails, so the next test sees no session of this one.
      await page.context().close();
    }
    expect(pageErrors).toEqual([]);
  });

  async function walkThrough(page: Page): Promise<void> {
    await page.locator("#state", { hasText: "open" }).waitFor();
    expect(await text(page, "transport")).toBe("websocket");
    await logged(page, "info", "transport – → websocket: connected");

    await page.fill("#text", "hello page");
    await page.press("#text", "Enter");
    await logged(page, "in", '← "hello page"');

    await page.click("#push");
    await logged(page, "in", "server push #");

    await page.click("#drop");
    await logged(page, "info", "(resumed: nothing lost)");
    expect(await text(page, "state")).toBe("open");

    await page.selectOption("#transports", "polling");
    await logged(page, "info", "transport – → polling: connected");
    expect(new URL(page.url()).searchParams.get("transport")).toBe("polling");
    await page.locator("#transport", { hasText: "polling" }).waitFor();

    await page.click("#toggle");
    await page.locator("#state", { hasText: "closed" }).waitFor();
    expect([await text(page, "session"), await text(page, "rtt"), await text(page, "transport")]).toEqual(["–", "–", "–"]);
  }

  it("closes its connection when the page is left, so the server does not keep the session", async () => {
    const page = await openPage();
    await page.locator("#state", { hasText: "open" }).waitFor();
    expect(await sessionsOnServer()).toBe(1);
    await page.goto("about:blank");
    const deadline = Date.now() + 5_000;
    while ((await sessionsOnServer()) !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await sessionsOnServer()).toBe(0);
    await page.context().close();
  });

  it("fits a phone's width without sideways scrolling", async () => {
    const page = await openPage({ width: 360, height: 740 });
    await page.locator("#state", { hasText: "open" }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await page.context().close();
  });
});
