import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { createFaultProxy, createHostileProxy, type FaultProxy, type HostileProxy } from "@lifeline/testkit";
import { launchChromium, openPage, PAGES, startEchoServer, startStaticServer, unavailable, type EchoServer, type PageName, type StaticServer } from "./harness.js";

/**
 * The built client in real Chromium against the reference server: the CDN IIFE loaded with a
 * plain <script src> (window.Lifeline) and the ESM build imported by a module script, each
 * with every forced transport and the automatic choice.
 */

interface Recorded {
  opens: Array<{ transport: string; resumed: boolean }>;
  messages: Array<{ text?: string; bytes?: number[]; isUint8Array?: boolean }>;
  closes: Array<{ code: number; reason: string }>;
  errors: Array<{ code: string; message: string }>;
}
type PageWindow = Window & {
  start(url: string, options?: object): void;
  conn: { id: string | null; state: string; transport: string | null; send(data: unknown): void; close(): void };
  record: Recorded;
};

const reason = unavailable();
// In CI the browser suite must run: a missing Chromium or build fails it instead of skipping.
if (reason && process.env["CI"]) {
  describe("real browser", () => {
    it("can run", () => {
      throw new Error(`the browser tests cannot run: ${reason}`);
    });
  });
}
const suite = reason ? describe.skip : describe;
if (reason && !process.env["CI"]) console.warn(`[browser tests] skipped: ${reason}`);

const choices = [
  { name: "websocket", options: { transports: ["websocket"] }, expected: "websocket" },
  { name: "streaming", options: { transports: ["streaming"] }, expected: "streaming" },
  { name: "polling", options: { transports: ["polling"] }, expected: "polling" },
  { name: "automatic choice", options: {}, expected: "websocket" },
] as const;

suite(reason ? `real browser (skipped: ${reason})` : "real browser", () => {
  let browser: Browser;
  let statics: StaticServer;
  let echo: EchoServer;
  let faults: FaultProxy;
  let hostile: HostileProxy;
  let page: Page | undefined;

  beforeAll(async () => {
    [browser, statics, echo] = await Promise.all([launchChromium(), startStaticServer(), startEchoServer()]);
    const target = { host: "127.0.0.1", port: echo.port };
    [faults, hostile] = await Promise.all([createFaultProxy({ target }), createHostileProxy({ target })]);
  });

  afterEach(async () => {
    // Close the client first, so the server does not keep a session waiting for a resume.
    await page?.evaluate(() => (window as unknown as PageWindow).conn?.close()).catch(() => undefined);
    await page?.close();
    page = undefined;
    hostile.refuseUpgrades(null);
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([statics?.close(), echo?.server.close(), faults?.close(), hostile?.close()]);
  });

  const start = async (name: PageName, url: string, options: object) => {
    page = await openPage(browser, `${statics.url}/${name}.html`);
    await page.evaluate(([u, o]) => (window as unknown as PageWindow).start(u as string, o as object), [url, options] as const);
    return page;
  };
  /** The page, with `fetch` deleted before the client starts against the echo server. */
  const startWithoutFetch = async (name: PageName, options: object) => {
    page = await openPage(browser, `${statics.url}/${name}.html`);
    await page.evaluate(([u, o]) => {
      delete (window as { fetch?: unknown }).fetch;
      (window as unknown as PageWindow).start(u as string, o as object);
    }, [echo.url, options] as const);
    return page;
  };
  const recorded = (p: Page) => p.evaluate(() => (window as unknown as PageWindow).record);
  const waitFor = async (p: Page, opens: number, messages: number) => {
    try {
      await p.waitForFunction(
        ([o, m]) => {
          const { record } = window as unknown as PageWindow;
          if (record.closes.length) throw new Error(`connection closed: ${JSON.stringify(record)}`);
          return record.opens.length >= o! && record.messages.length >= m!;
        },
        [opens, messages] as const,
        { timeout: 20_000 },
      );
    } catch (error) {
      const state = await p.evaluate(() => ({ state: (window as unknown as PageWindow).conn.state, ...(window as unknown as PageWindow).record }));
      throw new Error(`waiting for ${opens} opens and ${messages} messages: ${(error as Error).message}; page saw ${JSON.stringify(state)}`);
    }
  };
  const send = (p: Page, data: { text: string } | { bytes: number[] }) =>
    p.evaluate((d) => (window as unknown as PageWindow).conn.send("text" in d ? d.text : new Uint8Array(d.bytes)), data);
  const connectionId = (p: Page) => p.evaluate(() => (window as unknown as PageWindow).conn.id);

  describe.each(Object.keys(PAGES) as PageName[])("%s page", (name) => {
    describe.each(choices)("$name", ({ options, expected }) => {
      it("echoes text and binary and receives server push", async () => {
        const p = await start(name, echo.url, options);
        await waitFor(p, 1, 0);
        expect((await recorded(p)).opens).toEqual([{ transport: expected, resumed: false }]);

        const every = Array.from({ length: 256 }, (_, i) => i);
        await send(p, { text: "hello ✓ 𝄞" });
        await send(p, { bytes: every });
        await waitFor(p, 1, 2);
        const session = echo.session(await connectionId(p));
        expect(session.transport).toBe(expected);
        session.send("pushed");
        session.send(new Uint8Array([0, 255, 7]));
        await waitFor(p, 1, 4);

        const { messages, errors } = await recorded(p);
        expect(messages).toEqual([{ text: "hello ✓ 𝄞" }, { bytes: every, isUint8Array: true }, { text: "pushed" }, { bytes: [0, 255, 7], isUint8Array: true }]);
        expect(errors).toEqual([]);
      });

      it("reconnects and resumes the session after the server's link is cut", async () => {
        const p = await start(name, faults.url + "/lifeline", options);
        await waitFor(p, 1, 0);
        const id = await connectionId(p);

        faults.cut();
        // Long polling holds no connection open between polls, so a cut costs it one poll, which
        // the browser (or the client) simply sends again: the link need not reopen. The pause
        // keeps the next message clear of the poll that was just reset: the server still answers
        // a held poll whose socket died a moment ago, and what it wrote there is lost.
        if (expected === "polling") await new Promise((resolve) => setTimeout(resolve, 300));
        // Sent while the link is down: the resumed session delivers it.
        echo.session(id).send("while away");
        const reopens = expected === "polling" ? 1 : 2;
        await waitFor(p, reopens, 1);
        await send(p, { text: "after" });
        await waitFor(p, reopens, 2);

        const { opens, messages } = await recorded(p);
        expect(opens[0]).toEqual({ transport: expected, resumed: false });
        expect(opens.slice(1)).toEqual(expected === "polling" ? opens.slice(1).map(() => ({ transport: expected, resumed: true })) : [{ transport: expected, resumed: true }]);
        expect(await connectionId(p)).toBe(id);
        expect(messages).toEqual([{ text: "while away" }, { text: "after" }]);
      });
    });

    it.each(["websocket", "streaming", "polling"])("delivers what is sent and ends the session when close() runs in pagehide as the page goes away, over %s", async (transport) => {
      const p = await start(name, echo.url, { transports: [transport] });
      await waitFor(p, 1, 0);
      const session = echo.session(await connectionId(p));
      const received: string[] = [];
      session.on("message", (data) => received.push(String(data)));
      const ended = new Promise<{ code: number }>((resolve) => session.on("close", resolve));
      await p.evaluate(() => {
        // Another listener first: Chromium has aborted the page's requests by then, and the
        // client must not have taken that for a lost link when the app's own listener runs.
        window.addEventListener("pagehide", () => sessionStorage.setItem("left", "yes"));
        window.addEventListener("pagehide", () => {
          const { conn } = window as unknown as PageWindow;
          conn.send("bye 1");
          conn.send("bye 2");
          conn.close();
        });
      });
      await p.goto(`${statics.url}/${name}.html`);
      // Left unclosed, the server would keep the session for its whole resume window (60 s).
      let timer: NodeJS.Timeout | undefined;
      const info = await Promise.race([ended, new Promise((resolve) => (timer = setTimeout(() => resolve("still open after 5 s"), 5_000)))]);
      clearTimeout(timer);
      expect(info).toMatchObject({ code: 1000 });
      expect(received).toEqual(["bye 1", "bye 2"]);
    });

    it.each(choices)("runs in a Web Worker (no window, no document, no localStorage): $name", async ({ options, expected }) => {
      page = await openPage(browser, `${statics.url}/${name}.html`);
      const seen = await page.evaluate(
        async ([kind, url, opts]) => {
          // The CDN script by importScripts in a classic worker; the ES module build by import in a module worker.
          const load = kind === "iife" ? `importScripts("${location.origin}/dist/lifeline.min.js"); const lib = Lifeline;` : `import * as lib from "${location.origin}/dist/index.js";`;
          const source = `${load}
            const conn = lib.connect(${JSON.stringify(url)}, ${JSON.stringify(opts)});
            const got = [];
            conn.on("open", (info) => { postMessage({ open: info.transport }); conn.send("hi"); conn.send(new Uint8Array([0, 255, 7])); });
            conn.on("message", (data) => {
              got.push(typeof data === "string" ? data : Array.from(data));
              if (got.length === 2) { conn.close(); postMessage({ got, state: conn.state }); }
            });
            conn.on("error", (error) => postMessage({ error: error.code + ": " + error.message }));`;
          const script = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
          const worker = new Worker(script, { type: kind === "iife" ? "classic" : "module" });
          const messages: unknown[] = [];
          try {
            return await new Promise<unknown[]>((resolve) => {
              const timer = setTimeout(() => resolve([...messages, "no echo within 10 s"]), 10_000);
              worker.onerror = (event) => (clearTimeout(timer), resolve([...messages, { workerError: event.message }]));
              worker.onmessage = (event) => {
                messages.push(event.data);
                if (event.data.got || event.data.error) (clearTimeout(timer), resolve(messages));
              };
            });
          } finally {
            worker.terminate();
            URL.revokeObjectURL(script);
          }
        },
        [name, echo.url, options] as const,
      );
      expect(seen).toEqual([{ open: expected }, { got: ["hi", [0, 255, 7]], state: "closed" }]);
    });

    it("streams over XMLHttpRequest where fetch cannot stream, and sees the welcome at once", async () => {
      // As in a browser without fetch response streams: the client reads XHR progress instead.
      // Chromium holds back a text/plain response of under 512 bytes to sniff its type unless
      // the server says nosniff, and the welcome and pings of a quiet stream are less than that.
      page = await startWithoutFetch(name, { transports: ["streaming"], connectTimeout: 3000 });
      await waitFor(page, 1, 0);
      await send(page, { text: "over xhr" });
      await waitFor(page, 1, 1);
      const { opens, messages } = await recorded(page);
      expect(opens).toEqual([{ transport: "streaming", resumed: false }]);
      expect(messages).toEqual([{ text: "over xhr" }]);
    });

    it("takes a stream the browser aborts itself (window.stop()) for a lost link at once, and resumes", async () => {
      page = await startWithoutFetch(name, { transports: ["streaming"], reconnect: { initialDelay: 50 } });
      await waitFor(page, 1, 0);
      // Only an abort event, no error: unheard, the link would wait out the heartbeat (up to 25 s).
      await page.evaluate(() => window.stop());
      await waitFor(page, 2, 0);
      await send(page, { text: "after" });
      await waitFor(page, 2, 1);
      const { opens, messages } = await recorded(page);
      expect(opens).toEqual([{ transport: "streaming", resumed: false }, { transport: "streaming", resumed: true }]);
      expect(messages).toEqual([{ text: "after" }]);
    });

    it("sends an ArrayBuffer made in another frame (another realm) as bytes", async () => {
      const p = await start(name, echo.url, { transports: ["websocket"] });
      await waitFor(p, 1, 0);
      await p.evaluate(() => {
        const frame = document.body.appendChild(document.createElement("iframe"));
        const foreign = new (frame.contentWindow as unknown as typeof globalThis).Uint8Array([1, 2, 3]).buffer;
        (window as unknown as PageWindow).conn.send(foreign);
      });
      await waitFor(p, 1, 1);
      expect((await recorded(p)).messages).toEqual([{ bytes: [1, 2, 3], isUint8Array: true }]);
    });

    it("fails a WebSocket the page's Content-Security-Policy refuses at once, and goes on to streaming", async () => {
      // Chromium fires only an error for it, no close event. connectTimeout and fallbackDelay
      // (60 s) outlast waitFor's 20 s: only a WebSocket failed at its error lets streaming open in time.
      const origin = new URL(echo.url).origin;
      statics.page(`csp-${name}`, PAGES[name].replace("<title>", `<meta http-equiv="Content-Security-Policy" content="connect-src ${origin}"><title>`));
      page = await openPage(browser, `${statics.url}/csp-${name}.html`);
      const p = page;
      await p.evaluate((u) => (window as unknown as PageWindow).start(u, { transports: ["websocket", "streaming"], fallbackDelay: 60_000, connectTimeout: 60_000 }), echo.url);
      await waitFor(p, 1, 0);
      await send(p, { text: "past the policy" });
      await waitFor(p, 1, 1);
      const { opens, messages } = await recorded(p);
      expect(opens).toEqual([{ transport: "streaming", resumed: false }]);
      expect(messages).toEqual([{ text: "past the policy" }]);
    });

    it("resolves a relative URL against the document's base URL (a <base href>), as fetch does", async () => {
      page = await openPage(browser, `${statics.url}/${name}.html`);
      const p = page;
      await p.evaluate((origin) => {
        document.head.append(Object.assign(document.createElement("base"), { href: `${origin}/` }));
        (window as unknown as PageWindow).start("lifeline", { transports: ["websocket"] });
      }, new URL(echo.url).origin);
      await waitFor(p, 1, 0);
      await send(p, { text: "by the base" });
      await waitFor(p, 1, 1);
      expect((await recorded(p)).messages).toEqual([{ text: "by the base" }]);
    });

    it("lands on streaming on its own when a proxy refuses the WebSocket upgrade", async () => {
      hostile.refuseUpgrades(403);
      const p = await start(name, hostile.url + "/lifeline", {});
      await waitFor(p, 1, 0);
      await send(p, { text: "through the proxy" });
      await waitFor(p, 1, 1);
      const { opens, messages } = await recorded(p);
      expect(opens).toEqual([{ transport: "streaming", resumed: false }]);
      expect(messages).toEqual([{ text: "through the proxy" }]);
      expect(hostile.stats.upgradesRefused).toBeGreaterThan(0);
    });

    it("remembers in localStorage what worked, so the next connection starts with it", async () => {
      hostile.refuseUpgrades(403);
      const endpoint = hostile.url + "/lifeline";
      const p = await start(name, endpoint, {});
      await waitFor(p, 1, 0);
      const remembered = await p.evaluate((url) => localStorage.getItem(`lifeline:transport:${url}`), endpoint);
      expect(remembered).toMatch(/^streaming \d+$/);
      // A new connection (as after a reload) goes straight to streaming: no upgrade is tried first.
      const upgradesBefore = hostile.stats.upgradesSeen;
      await p.evaluate(([url]) => {
        const w = window as unknown as PageWindow;
        w.conn.close();
        w.start(url!, {});
      }, [endpoint] as const);
      await p.waitForFunction(() => (window as unknown as PageWindow).record.opens.length >= 2, null, { timeout: 20_000 });
      expect((await recorded(p)).opens[1]).toEqual({ transport: "streaming", resumed: false });
      expect(hostile.stats.upgradesSeen).toBe(upgradesBefore);
    });
  });

  describe("back/forward cache", () => {
    let caching: Browser;
    beforeAll(async () => {
      caching = await launchChromium({ backForwardCache: true });
      statics.page("elsewhere", "<!doctype html><title>Elsewhere</title>");
    });
    afterAll(() => caching?.close());

    it.each(Object.keys(PAGES) as PageName[])("%s page: a WebSocket the cache closed is taken up again as the page comes back, without the retry wait, and stays WebSocket", async (name) => {
      page = await openPage(caching, `${statics.url}/${name}.html`);
      const p = page;
      // A retry wait longer than waitFor's 20 s: only a retry that skips it passes.
      await p.evaluate((u) => {
        (window as unknown as PageWindow).start(u, { reconnect: { initialDelay: 60_000, jitter: 0 } });
        (window as unknown as { marker: boolean }).marker = true;
      }, echo.url);
      await waitFor(p, 1, 0);
      const id = await connectionId(p);
      // Twice within seconds: two quick losses would otherwise demote WebSocket (health.ts).
      for (const round of [1, 2]) {
        await p.goto(`${statics.url}/elsewhere.html`);
        echo.session(id).send(`while away ${round}`);
        await p.goBack({ waitUntil: "commit" });
        // Reloaded instead of restored, the page would have run its script again.
        expect(await p.evaluate(() => (window as unknown as { marker?: boolean }).marker)).toBe(true);
        await waitFor(p, 1 + round, round);
      }
      const { opens, messages } = await recorded(p);
      expect(opens).toEqual([
        { transport: "websocket", resumed: false },
        { transport: "websocket", resumed: true },
        { transport: "websocket", resumed: true },
      ]);
      expect(messages).toEqual([{ text: "while away 1" }, { text: "while away 2" }]);
      expect(await connectionId(p)).toBe(id);
    });
  });
});
