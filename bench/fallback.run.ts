// Fallback benchmark: how long each hostile network costs a client with default settings before
// its first message comes back, which transport it ends on, and whether any message is lost.
// Started by bench/fallback.mjs (`npm run bench:fallback`), which prints the table; this file
// runs the scenarios and writes the JSON. Every server and proxy binds 127.0.0.1 on port 0.
import { execSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { WebSocket } from "ws";
import { connect } from "@lifeline/client";
import type { ClientOptions, Connection, StorageLike, TransportEvent, TransportName } from "@lifeline/client";
import { createServer } from "@lifeline/server";
import type { ServerOptions } from "@lifeline/server";
import { createFaultProxy, createHostileProxy } from "@lifeline/testkit";
import type { FaultProxy, HostileProxy } from "@lifeline/testkit";

const root = fileURLToPath(new URL("..", import.meta.url));
const quick = process.env.LIFELINE_FALLBACK_QUICK === "1";
const only = process.env.LIFELINE_FALLBACK_ONLY?.split(",").filter(Boolean);
const RUNS = Number(process.env.LIFELINE_FALLBACK_RUNS) || (quick ? 3 : 10);
/** The whole benchmark stops by itself: scenarios left when this passes are reported as skipped. */
const DEADLINE = Date.now() + (quick ? 6 : 20) * 60_000;
/** One run that takes longer than this is recorded as failed and torn down. */
const RUN_TIMEOUT_MS = 45_000;
/** The client sends one numbered message this often, from connect() until the run ends. */
const SEND_EVERY_MS = 50;
/** How long a run watches the connection once it has settled, to see that it stays. */
const OBSERVE_MS = 1_000;
const OBSERVE_FLAPPING_MS = quick ? 3_000 : 5_000;
/** LIFELINE_FALLBACK_DEBUG=1 keeps each run's client debug log in the JSON. */
const DEBUG = process.env.LIFELINE_FALLBACK_DEBUG === "1";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** What one scenario sets up: the network between client and server, before connect(). */
interface Network {
  endpoint: string;
  hostile: HostileProxy;
  front?: FaultProxy;
  close(): Promise<void>;
}

async function network(serverOptions: ServerOptions = {}, withFront = false): Promise<Network> {
  const server = createServer(serverOptions);
  server.on("connection", (session) => session.on("message", (data) => session.send(data)));
  const { url } = await server.listen(0, "127.0.0.1");
  const { port, pathname } = new URL(url);
  const hostile = await createHostileProxy({ target: { host: "127.0.0.1", port: Number(port) } });
  // A plain TCP proxy in front lets a scenario cut live connections; the hostile one shapes the rest.
  const front = withFront ? await createFaultProxy({ target: { host: "127.0.0.1", port: hostile.port } }) : undefined;
  return {
    endpoint: (front ?? hostile).url + pathname,
    hostile,
    ...(front ? { front } : {}),
    async close() {
      await front?.close();
      await hostile.close();
      await server.close();
    },
  };
}

/** One client under measurement: numbered messages out every SEND_EVERY_MS, echoes timed in. */
interface Probe {
  conn: Connection;
  startedAt: number;
  transports: (TransportEvent & { at: number })[];
  received: { n: number; at: number }[];
  log: string[];
  sessionsLost: number;
  sent(): number;
  firstMessageAt(after?: number): number | undefined;
  stopSending(): void;
}

function probe(endpoint: string, options: ClientOptions = {}): Probe {
  const startedAt = performance.now();
  const log: string[] = [];
  const debug = DEBUG ? { debug: (message: string) => void log.push(`${round(performance.now() - startedAt)} ms ${message}`) } : {};
  const conn = connect(endpoint, { WebSocket, rememberTransport: false, ...debug, ...options });
  const transports: Probe["transports"] = [];
  const received: Probe["received"] = [];
  conn.on("transport", (event) => transports.push({ ...event, at: performance.now() - startedAt }));
  conn.on("message", (data) => received.push({ n: Number(data), at: performance.now() - startedAt }));
  const self = { sessionsLost: 0 };
  conn.on("open", (event) => void (event.sessionLost && self.sessionsLost++));
  let sent = 0;
  conn.send(String(++sent));
  const sender = setInterval(() => conn.send(String(++sent)), SEND_EVERY_MS);
  return {
    conn,
    startedAt,
    transports,
    received,
    log,
    get sessionsLost() {
      return self.sessionsLost;
    },
    sent: () => sent,
    firstMessageAt: (after = 0) => received.find((r) => r.at >= after)?.at,
    stopSending: () => clearInterval(sender),
  };
}

/** What one run measured; times in ms from connect() unless named otherwise. */
interface RunResult {
  firstMessageMs: number;
  transport: TransportName | null;
  path: string;
  /** The last transport change, from connect() (or from the cut, in the mid-session scenario). */
  settledMs?: number;
  /** Mid-session scenario: from the cut to the first message received after it. */
  gapMs?: number;
  sent: number;
  lost: number;
  duplicates: number;
  inOrder: boolean;
  upgradesSeen: number;
  /** Flapping scenarios: WebSocket upgrades tried after settling on the fallback (should be 0). */
  upgradesAfterSettle?: number;
  /** Reconnections that found the session gone and started a new one (should be 0). */
  sessionsLost: number;
  log?: string[];
}

async function finish(p: Probe, net: Network, extra: Partial<RunResult> = {}): Promise<RunResult> {
  p.stopSending();
  const sent = p.sent();
  const distinct = () => new Set(p.received.map((r) => r.n)).size;
  await until(() => distinct() >= sent, 10_000, "echo of every message").catch(() => undefined);
  const numbers = p.received.map((r) => r.n);
  const first = p.firstMessageAt();
  if (first === undefined) throw new Error("no message came back");
  return {
    firstMessageMs: round(first),
    transport: p.conn.transport,
    path: ["connect", ...p.transports.map((t) => t.to)].join(" → "),
    ...(p.transports.length ? { settledMs: round(p.transports.at(-1)!.at) } : {}),
    sent,
    lost: sent - distinct(),
    duplicates: numbers.length - new Set(numbers).size,
    inOrder: numbers.every((n, i) => n === i + 1),
    upgradesSeen: net.hostile.stats.upgradesSeen,
    sessionsLost: p.sessionsLost,
    ...(DEBUG ? { log: p.log } : {}),
    ...extra,
  };
}

/** Stops the probes' clients, then the proxies and server behind them. */
async function tearDown(net: Network, ...probes: (Probe | undefined)[]): Promise<void> {
  for (const p of probes) {
    p?.stopSending();
    p?.conn.close();
  }
  await net.close();
}

interface Scenario {
  id: string;
  behaviour: string;
  /** Where a working client must end up. */
  expect: TransportName;
  run(): Promise<RunResult>;
}

/** The common shape: shape the network, connect with defaults, wait for `expect`, watch, count. */
function simple(id: string, behaviour: string, expectTransport: TransportName, shape: (proxy: HostileProxy) => void, serverOptions?: ServerOptions): Scenario {
  return {
    id,
    behaviour,
    expect: expectTransport,
    async run() {
      const net = await network(serverOptions);
      shape(net.hostile);
      const p = probe(net.endpoint);
      try {
        await until(() => p.received.length > 0 && p.conn.transport === expectTransport, RUN_TIMEOUT_MS, `echo over ${expectTransport}`);
        await sleep(OBSERVE_MS);
        return await finish(p, net);
      } finally {
        await tearDown(net, p);
      }
    },
  };
}

/** Scenario 3: the proxy lets WebSockets open and kills every one of them. */
function flapping(id: string, behaviour: string, rule: { afterMs?: number; afterFrames?: number }): Scenario {
  return {
    id,
    behaviour,
    expect: "streaming",
    async run() {
      const net = await network();
      net.hostile.killWebSockets(rule);
      const p = probe(net.endpoint);
      try {
        await until(() => p.conn.transport === "streaming", RUN_TIMEOUT_MS, "streaming");
        const upgradesAtSettle = net.hostile.stats.upgradesSeen;
        // It must stay there: no WebSocket retried while the demotion lasts (60 s the first time).
        await sleep(OBSERVE_FLAPPING_MS);
        const result = await finish(p, net);
        return { ...result, upgradesAfterSettle: net.hostile.stats.upgradesSeen - upgradesAtSettle };
      } finally {
        await tearDown(net, p);
      }
    },
  };
}

const scenarios: Scenario[] = [
  simple("baseline", "no proxy faults", "websocket", () => {}),
  ...([400, 403, 404, "close"] as const).map((refusal) =>
    simple(`1-refused-${refusal}`, `1. upgrade refused (${refusal === "close" ? "socket closed at once" : refusal})`, "streaming", (proxy) => proxy.refuseUpgrades(refusal)),
  ),
  simple("2-upgrade-hangs", "2. upgrade hangs (TCP accepted, no answer)", "streaming", (proxy) => proxy.hangUpgrades(true)),
  flapping("3-killed-after-3s", "3. WebSocket killed 3 s after opening, every time", { afterMs: 3_000 }),
  flapping("3-killed-after-3-frames", "3. WebSocket killed after 3 frames, every time", { afterFrames: 3 }),
  simple("4-streaming-buffered", "4. upgrade refused (403), responses buffered", "polling", (proxy) => {
    proxy.refuseUpgrades(403);
    proxy.bufferResponses(true);
  }),
  // A proxy that ends any exchange after 30 s: the server's default long-poll hold (15 s) fits under it.
  simple("5-short-http-only", "5. only short plain HTTP (30 s limit, buffered, no upgrade)", "polling", (proxy) => proxy.blockLongRequests({ maxMs: 30_000 })),
  {
    id: "6-dies-mid-session",
    behaviour: "6. WebSocket cut mid-session, upgrades refused from then on",
    expect: "streaming",
    async run() {
      const net = await network({}, true);
      const p = probe(net.endpoint);
      try {
        await until(() => p.received.length > 0 && p.conn.transport === "websocket", RUN_TIMEOUT_MS, "echo over websocket");
        await sleep(1_000);
        net.hostile.refuseUpgrades(403);
        net.front!.cut();
        const cutAt = performance.now() - p.startedAt;
        await until(() => p.conn.transport === "streaming", RUN_TIMEOUT_MS, "streaming");
        await sleep(OBSERVE_MS);
        const result = await finish(p, net);
        const settled = p.transports.at(-1)!.at - cutAt;
        const next = p.firstMessageAt(cutAt);
        return { ...result, settledMs: round(settled), ...(next !== undefined ? { gapMs: round(next - cutAt) } : {}) };
      } finally {
        await tearDown(net, p);
      }
    },
  },
  {
    id: "upgrade-back",
    behaviour: "upgrade back: upgrade refused until the first open, then allowed",
    expect: "websocket",
    async run() {
      const net = await network();
      net.hostile.refuseUpgrades(403);
      const p = probe(net.endpoint);
      try {
        await until(() => p.conn.transport === "streaming", RUN_TIMEOUT_MS, "streaming");
        net.hostile.refuseUpgrades(null);
        await until(() => p.conn.transport === "websocket", RUN_TIMEOUT_MS, "the upgrade to websocket");
        await sleep(OBSERVE_MS);
        return await finish(p, net);
      } finally {
        await tearDown(net, p);
      }
    },
  },
  {
    id: "memory-second-connection",
    behaviour: "second connection with memory (upgrade hangs)",
    expect: "streaming",
    async run() {
      const net = await network();
      net.hostile.hangUpgrades(true);
      const stored = new Map<string, string>();
      const storage: StorageLike = {
        getItem: (key) => stored.get(key) ?? null,
        setItem: (key, value) => void stored.set(key, value),
        removeItem: (key) => void stored.delete(key),
      };
      // The first connection learns the transport; only the second one is measured.
      const learner = probe(net.endpoint, { rememberTransport: true, storage });
      let p: Probe | undefined;
      try {
        await until(() => learner.received.length > 0 && learner.conn.transport === "streaming", RUN_TIMEOUT_MS, "first connection");
        learner.stopSending();
        learner.conn.close();
        p = probe(net.endpoint, { rememberTransport: true, storage });
        const second = p;
        await until(() => second.received.length > 0 && second.conn.transport === "streaming", RUN_TIMEOUT_MS, "echo over streaming");
        await sleep(OBSERVE_MS);
        return await finish(second, net);
      } finally {
        await tearDown(net, learner, p);
      }
    },
  },
];

function round(ms: number): number {
  return Math.round(ms);
}

function stats(values: number[]) {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { min: sorted[0]!, median: at(0.5), p90: at(0.9), max: sorted.at(-1)! };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`run took over ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function machine() {
  const git = (command: string) => {
    try {
      return execSync(`git ${command}`, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return "unknown";
    }
  };
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    commit: git("rev-parse --short HEAD"),
    date: new Date().toISOString(),
  };
}

test("fallback: time to first message per hostile behaviour", async () => {
  const results = [];
  // One unrecorded run first, so module loading and JIT warm-up do not land in the first row.
  await scenarios[0]!.run().catch(() => undefined);
  for (const scenario of scenarios.filter((s) => !only || only.includes(s.id))) {
    const runs: (RunResult | { error: string })[] = [];
    for (let i = 0; i < RUNS; i++) {
      if (Date.now() > DEADLINE) {
        runs.push({ error: "skipped: benchmark deadline reached" });
        break;
      }
      try {
        runs.push(await withTimeout(scenario.run(), RUN_TIMEOUT_MS + 20_000));
      } catch (error) {
        runs.push({ error: (error as Error).message });
      }
    }
    const ok = runs.filter((r): r is RunResult => !("error" in r));
    const summary = {
      id: scenario.id,
      behaviour: scenario.behaviour,
      expected: scenario.expect,
      runs: runs.length,
      failed: runs.length - ok.length,
      endedOn: [...new Set(ok.map((r) => r.transport))],
      wrongTransport: ok.filter((r) => r.transport !== scenario.expect).length,
      firstMessageMs: stats(ok.map((r) => r.firstMessageMs)),
      settledMs: stats(ok.flatMap((r) => (r.settledMs === undefined ? [] : [r.settledMs]))),
      gapMs: stats(ok.flatMap((r) => (r.gapMs === undefined ? [] : [r.gapMs]))),
      upgradesAfterSettle: ok.reduce((sum, r) => sum + (r.upgradesAfterSettle ?? 0), 0),
      sessionsLost: ok.reduce((sum, r) => sum + r.sessionsLost, 0),
      lost: ok.reduce((sum, r) => sum + r.lost, 0),
      duplicates: ok.reduce((sum, r) => sum + r.duplicates, 0),
      outOfOrder: ok.filter((r) => !r.inOrder).length,
      paths: [...new Set(ok.map((r) => r.path))],
      runResults: runs,
    };
    console.error(
      `${scenario.id}: first message median ${summary.firstMessageMs?.median ?? "-"} ms, ended on ${summary.endedOn.join("/") || "-"}, lost ${summary.lost}, failed ${summary.failed}`,
    );
    results.push(summary);
  }
  const report = {
    benchmark: "fallback",
    quick,
    runsPerScenario: RUNS,
    settings: "client defaults (fallbackDelay 500, connectTimeout 10000, upgrade on, reconnect 500 ms doubling, jitter 0.5) with rememberTransport false except in the memory row; server defaults",
    sendEveryMs: SEND_EVERY_MS,
    machine: machine(),
    scenarios: results,
  };
  mkdirSync(`${root}bench/results`, { recursive: true });
  const out = process.env.LIFELINE_FALLBACK_OUT ?? `${root}bench/results/${quick ? "fallback.quick.local.json" : "fallback.json"}`;
  writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
  // Not a timed test: it only requires that every scenario ran and lost nothing.
  expect(results.every((s) => s.failed === 0 && s.lost === 0)).toBe(true);
});
