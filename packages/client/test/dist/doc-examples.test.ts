import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { WebSocket } from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "@lifeline/server";
import type { LifelineServer, Session } from "@lifeline/server";
import { until } from "../helpers/integration.js";

/**
 * The TypeScript examples of the READMEs, docs/getting-started.md and docs/react-native.md
 * (each marked `<!-- example: NAME (tested as written by …) -->`), run as written against the
 * built packages: each in a fresh Node process, in a project where `@lifeline/client` and
 * `@lifeline/server` resolve through their package.json as in an app. Only the example server's
 * URL is swapped for a local echo server (and the server example's port for 0). React, React
 * Native, NetInfo and AsyncStorage are the small stand-ins in `stand-ins/`, which report on
 * stdout what the client did with them. Needs `npm run build` first; skipped (saying so)
 * without it.
 */

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const client = join(root, "packages/client");
const standIns = fileURLToPath(new URL("./stand-ins/", import.meta.url));
const built = existsSync(join(client, "dist/index.js")) && existsSync(join(root, "packages/server/dist/index.js"));

const docs = {
  README: readFileSync(join(root, "README.md"), "utf8"),
  "server README": readFileSync(join(root, "packages/server/README.md"), "utf8"),
  "getting-started": readFileSync(join(root, "docs/getting-started.md"), "utf8"),
  "react-native": readFileSync(join(root, "docs/react-native.md"), "utf8"),
};

/** The code block marked as example `name` in `doc`. */
function example(doc: keyof typeof docs, name: string): string {
  const match = new RegExp(`<!-- example: ${name} \\(tested as written by [^)]*\\) -->\\n\`\`\`tsx?\\n([\\s\\S]*?)\`\`\``).exec(docs[doc]);
  if (!match) throw new Error(`${doc} has no example "${name}"`);
  return match[1]!;
}

/** The example as JavaScript (types stripped, JSX made calls to react/jsx-runtime), its server URL swapped. */
function runnable(source: string, url: string): string {
  const swapped = source.replaceAll("https://example.com/lifeline", url).replaceAll("http://127.0.0.1:8080/lifeline", url);
  return ts.transpileModule(swapped, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, jsx: ts.JsxEmit.ReactJSX, verbatimModuleSyntax: true },
  }).outputText;
}

interface Run {
  /** Lines printed so far. */
  readonly lines: string[];
  /** Resolves once a printed line matches `pattern`; fails after 15 s, quoting the output. */
  printed(pattern: RegExp): Promise<string>;
  /** Resolves once the process exits by itself, with its code. */
  readonly exited: Promise<number | null>;
  stop(): void;
}

/** Runs `driver` (ESM) beside `example.mjs` made of `code`, in the consumer project. */
function run(project: string, code: string, driver: string): Run {
  const dir = mkdtempSync(join(project, "run-"));
  writeFileSync(join(dir, "example.mjs"), code);
  writeFileSync(join(dir, "driver.mjs"), driver);
  const child = spawn(process.execPath, ["driver.mjs"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const take = (chunk: Buffer) => {
    lines.push(...chunk.toString().split("\n").filter(Boolean));
    for (const waiter of waiters) waiter();
  };
  child.stdout.on("data", take);
  child.stderr.on("data", take);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    lines,
    printed: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find((l) => pattern.test(l));
          if (!line) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(line);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no line matching ${pattern} in 15 s; output:\n${lines.join("\n")}`));
        }, 15_000);
        waiters.add(check);
        check();
      }),
    exited,
    stop: () => child.kill(),
  };
}

const suite = built ? describe : describe.skip;
const title = built ? "documentation examples" : "documentation examples (skipped: no dist folders; run `npm run build` first)";

suite(title, () => {
  let server: LifelineServer;
  let url: string;
  let project: string;
  const sessions: Session[] = [];
  const closes = new Map<Session, number>();
  const runs: Run[] = [];

  beforeAll(async () => {
    server = createServer();
    server.on("connection", (session) => {
      sessions.push(session);
      session.on("message", (data) => session.send(data));
      session.on("close", ({ code }) => closes.set(session, code));
    });
    url = (await server.listen(0, "127.0.0.1")).url;
    // An app's project: the package and its peers in node_modules, as installed.
    project = mkdtempSync(join(tmpdir(), "lifeline-doc-examples-"));
    const link = (target: string, name: string) => {
      mkdirSync(dirname(join(project, "node_modules", name)), { recursive: true });
      symlinkSync(target, join(project, "node_modules", name), "dir");
    };
    link(client, "@lifeline/client");
    link(join(root, "packages/server"), "@lifeline/server");
    link(join(root, "node_modules/ws"), "ws");
    link(join(standIns, "react"), "react");
    link(join(standIns, "react-native"), "react-native");
    link(join(standIns, "netinfo"), "@react-native-community/netinfo");
    link(join(standIns, "async-storage"), "@react-native-async-storage/async-storage");
  });

  // Each example's process ends with its test, so none opens sessions during the next one.
  afterEach(async () => {
    const ended = runs.splice(0);
    for (const r of ended) r.stop();
    await Promise.all(ended.map((r) => r.exited));
  });

  afterAll(async () => {
    await server?.close();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  const start = (code: string, driver = `await import("./example.mjs");`) => {
    const r = run(project, code, driver);
    runs.push(r);
    return r;
  };
  /** The session opened after `count` sessions were there, once it is. */
  const nextSession = async (count: number): Promise<Session> => {
    await until(() => sessions.length > count, 15_000, "a new session");
    return sessions[count]!;
  };
  const closedWith = async (session: Session): Promise<number> => {
    await until(() => closes.has(session), 15_000, "the session's close");
    return closes.get(session)!;
  };

  it("the README's quick start: opens and echoes", async () => {
    const r = start(runnable(example("README", "quick-start"), url));
    await r.printed(/^open over (websocket|streaming) \{ resumed: false \}$/);
    await r.printed(/^received hello$/);
    expect(r.lines.filter((line) => /error/i.test(line))).toEqual([]);
  });

  it("the server README's example: listens, echoes, and logs the close", async () => {
    // Port 0 rather than 8080: tests take a free port.
    const code = runnable(example("server README", "server"), url).replace("server.listen(8080)", "server.listen(0)");
    const r = start(code);
    const [, serverUrl] = /^listening on (http:\/\/127\.0\.0\.1:\d+\/lifeline)$/.exec(await r.printed(/^listening on /))!;
    const { connect } = await import("@lifeline/client");
    const conn = connect(serverUrl!, { WebSocket });
    try {
      const echoed = new Promise((resolve) => conn.on("message", resolve));
      conn.send("ping me back");
      expect(await echoed).toBe("ping me back");
    } finally {
      conn.close();
    }
    await r.printed(/^[\w-]{24} closed 1000 closed by client$/);
  });

  it("with a bundler: opens, and echoes text and binary", async () => {
    const r = start(runnable(example("getting-started", "bundler"), url));
    // Node 20 has no global WebSocket: the client goes on with streaming there.
    await r.printed(/^open over (websocket|streaming) \{ resumed: false \}$/);
    await r.printed(/^received hello$/);
    await r.printed(/^received Uint8Array\(3\) \[ 1, 2, 3 \]$/);
    expect(r.lines.filter((line) => /error/i.test(line))).toEqual([]);
  });

  it("core + WebSocket only: connects over WebSocket (with the browser's global WebSocket)", async () => {
    const before = sessions.length;
    // A browser has a global WebSocket; Node 20 has none, so the driver puts ws's there first.
    const r = start(runnable(example("getting-started", "core-websocket"), url), `import { WebSocket } from "ws"; globalThis.WebSocket = WebSocket; await import("./example.mjs");`);
    const session = await nextSession(before);
    expect(session.transport).toBe("websocket");
    expect(r.lines).toEqual([]);
  });

  it("in Node with ws: echoes", async () => {
    const before = sessions.length;
    const r = start(runnable(example("getting-started", "node"), url));
    await r.printed(/^received hello from Node$/);
    expect((await nextSession(before)).transport).toBe("websocket");
  });

  it("the React Native hook: passes AppState, shows what the server sends, and closes on unmount", async () => {
    const before = sessions.length;
    const driver = `
      import { mounted, render, unmount } from "react";
      import { useLifeline } from "./example.mjs";
      mounted.onRender = (last) => {
        if (last === null) return;
        console.log("last:", last);
        unmount();
      };
      render(() => useLifeline(${JSON.stringify(url)}));
    `;
    const r = start(runnable(example("getting-started", "use-lifeline"), url), driver);
    await r.printed(/^AppState\.addEventListener change$/);
    const session = await nextSession(before);
    session.send("pushed by the server");
    await r.printed(/^last: pushed by the server$/);
    expect(await closedWith(session)).toBe(1000);
    await r.printed(/^AppState subscription removed$/);
  });

  it("react-native.md, connecting: passes AppState", async () => {
    const before = sessions.length;
    const r = start(runnable(example("react-native", "rn-connect"), url));
    await r.printed(/^AppState\.addEventListener change$/);
    await nextSession(before);
  });

  it("react-native.md, with NetInfo: passes AppState and NetInfo", async () => {
    const before = sessions.length;
    const r = start(runnable(example("react-native", "rn-netinfo"), url));
    await r.printed(/^AppState\.addEventListener change$/);
    await r.printed(/^NetInfo\.addEventListener$/);
    await nextSession(before);
  });

  it("react-native.md's component: shows the state, sends on press, lists the echo, and closes on unmount", async () => {
    const before = sessions.length;
    // Finds the Button in the rendered tree and presses it once the status says open; prints
    // each render's status and lines; unmounts once the echo is listed.
    const driver = `
      import { mounted, render, unmount } from "react";
      import { Chat } from "./example.mjs";
      const find = (node, type) => {
        if (!node || typeof node !== "object") return undefined;
        if (node.type === type) return node;
        return [node.props?.children].flat().map((child) => find(child, type)).find(Boolean);
      };
      let pressed = false;
      mounted.onRender = (tree) => {
        const status = find(tree, "Text").props.children;
        const lines = find(tree, "FlatList").props.data;
        console.log("render:", status, JSON.stringify(lines));
        if (status.startsWith("open over") && !pressed) {
          pressed = true;
          find(tree, "Button").props.onPress();
        }
        if (lines.includes("hello")) unmount();
      };
      render(Chat, { url: ${JSON.stringify(url)} });
    `;
    const r = start(runnable(example("react-native", "rn-chat"), url), driver);
    await r.printed(/^render: connecting \[\]$/);
    await r.printed(/^render: open over (websocket|streaming) \[\]$/);
    await r.printed(/^render: open over (websocket|streaming) \["hello"\]$/);
    expect(await closedWith(await nextSession(before))).toBe(1000);
    await r.printed(/^AppState subscription removed$/);
  });

  it("react-native.md's AsyncStorage view: reads Lifeline's keys up front, writes through, and keeps the transport that worked", async () => {
    const driver = `
      import { data } from "@react-native-async-storage/async-storage";
      import { AppState } from "react-native";
      import { connect } from "@lifeline/client";
      import { loadLifelineStorage } from "./example.mjs";
      data.set("lifeline:earlier", "kept");
      data.set("someone-else", "not read");
      const storage = await loadLifelineStorage();
      console.log("read:", storage.getItem("lifeline:earlier"), storage.getItem("someone-else"));
      storage.removeItem("lifeline:earlier");
      // As the example's closing comment says.
      const conn = connect(${JSON.stringify(url)}, { appState: AppState, storage });
      conn.on("open", async ({ transport }) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        console.log("open over", transport, "stored:", JSON.stringify(Object.fromEntries(data)));
        conn.close();
      });
    `;
    const r = start(runnable(example("react-native", "rn-storage"), url), driver);
    await r.printed(/^read: kept null$/);
    const line = await r.printed(/^open over /);
    const [, transport, stored] = /^open over (\w+) stored: (.*)$/.exec(line)!;
    const kept = JSON.parse(stored!) as Record<string, string>;
    // Lifeline's copy went to AsyncStorage in the background: the transport it remembered, and
    // the removed key gone; the app's own key untouched.
    expect(kept["lifeline:earlier"]).toBeUndefined();
    expect(kept["someone-else"]).toBe("not read");
    const remembered = Object.entries(kept).filter(([key]) => key.startsWith("lifeline:"));
    expect(remembered).toHaveLength(1);
    expect(remembered[0]![1]).toContain(transport!);
    expect(await r.exited).toBe(0);
  });
});
