// `pnpm bench`: Lifeline (each transport) against socket.io 4 (websocket, polling) and raw `ws`
// in one run, every server and every client load in its own process on 127.0.0.1. Prints one
// table, writes bench/results/latest.json and the table in docs/benchmarks.md.
//
//   node bench/run.mjs [--quick] [--only=lifeline-websocket,ws] [--workloads=echo,throughput]
//                      [--no-build] [--profile]
//
// --quick shrinks every count for a smoke run and writes bench/results/quick.local.json only.
// --profile runs each child with --cpu-prof (profiles in $TMPDIR/lifeline-bench-profiles; read
// them with `node bench/top.mjs <file>`).
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, statSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startChild } from "./children.mjs";
import { renderTable, targets, writeDocs } from "./report.mjs";
import { bundleSizes } from "./sizes.mjs";
import { CONFIGS, counts as countsFor } from "./stacks.mjs";
import { loadTestkit } from "./testkit.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const list = (name) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3).split(",");

const quick = flag("quick");
const counts = countsFor(quick);
const only = list("only");
const configs = CONFIGS.filter((config) => !only || only.includes(config.id));
const ALL_WORKLOADS = ["connect", "echo", "throughput", "fanout", "memory", "size", "hostile"];
const workloads = list("workloads") ?? ALL_WORKLOADS;
// Sampling every 100 µs: the default 1 ms misses most of a 60 µs round trip.
const profileDir = join(tmpdir(), "lifeline-bench-profiles");
const execArgv = flag("profile") ? ["--cpu-prof", "--cpu-prof-interval=100", `--cpu-prof-dir=${profileDir}`] : [];

/** The whole run stops by itself: past this, remaining steps are skipped and reported. */
const RUN_DEADLINE = Date.now() + (quick ? 5 : 15) * 60_000;

function log(line) {
  process.stderr.write(line + "\n");
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds the packages when a dist file is missing or older than the sources it comes from. */
function buildIfStale() {
  const outputs = ["packages/protocol/dist/index.js", "packages/client/dist/index.js", "packages/client/dist/lifeline.min.js", "packages/server/dist/index.js"];
  const sources = ["packages/protocol/src", "packages/client/src", "packages/server/src"].map((dir) => newestMtime(join(root, dir)));
  const newestSource = Math.max(...sources, statSync(join(root, "rollup.config.mjs")).mtimeMs);
  const oldestOutput = Math.min(...outputs.map((file) => statSync(join(root, file), { throwIfNoEntry: false })?.mtimeMs ?? 0));
  if (oldestOutput >= newestSource) return;
  log("building packages (dist missing or older than src)…");
  const result = spawnSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) throw new Error("npm run build failed");
}

const timeLeft = () => RUN_DEADLINE - Date.now();

/** Runs `step` unless the run is out of time; failures become { error } in the results. */
async function step(what, fn) {
  if (timeLeft() <= 0) return { error: "skipped: run deadline reached" };
  const started = Date.now();
  try {
    const result = await fn();
    log(`  ${what}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } catch (error) {
    log(`  ${what}: FAILED ${error.message}`);
    return { error: String(error.message) };
  }
}

const startServer = (stack) => startChild("server.mjs", [stack], { execArgv: ["--expose-gc", ...execArgv] });
const startLoad = () => startChild("load.mjs", [], { execArgv });

/** Runs one workload with a fresh client process against `server`. */
async function runLoad(config, url, workload, ms) {
  const load = await startLoad();
  try {
    return (await load.ask({ type: "run", stack: config.stack, transport: config.transport, url, workload, counts }, ms)).result;
  } finally {
    await load.stop();
  }
}

/** 5. Server memory per idle session: fresh server, warm-up, baseline, N idle sessions, measure. */
async function idleMemory(config) {
  const server = await startServer(config.stack);
  const load = await startLoad();
  try {
    const { url } = server.ready;
    const idle = (count) => load.ask({ type: "idle", stack: config.stack, transport: config.transport, url, count }, 180_000);
    // Sessions opened and closed first, so the baseline already has the code paths loaded.
    await idle(20);
    await load.ask({ type: "release" }, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = await server.ask({ type: "memory" }, 30_000);
    await idle(counts.idleSessions);
    // Let handshakes, first pings and upgrades settle before measuring.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = await server.ask({ type: "memory" }, 30_000);
    await load.ask({ type: "release" }, 30_000);
    const per = (key) => (after[key] - before[key]) / counts.idleSessions;
    return {
      sessions: after.sessions - before.sessions,
      rssPerSession: per("rss"),
      heapPerSession: per("heapUsed"),
      externalPerSession: per("external"),
      before,
      after,
    };
  } finally {
    await load.stop();
    await server.stop();
  }
}

async function runConfig(config) {
  log(`${config.label}`);
  const result = {};
  if (workloads.includes("memory")) result.memory = await step("memory", () => idleMemory(config));
  const perf = ["connect", "echo", "throughput", "fanout"].filter((name) => workloads.includes(name));
  if (!perf.length) return result;
  const server = await startServer(config.stack);
  try {
    for (const name of perf) result[name] = await step(name, () => runLoad(config, server.ready.url, name, 240_000));
  } finally {
    await server.stop();
  }
  return result;
}

/** 7. Time to a working link behind a proxy that refuses or hangs WebSocket upgrades. */
async function hostile() {
  const testkit = await loadTestkit();
  const out = { testkit: testkit.source };
  try {
    for (const stack of ["lifeline", "socketio", "ws"]) {
      const server = await startServer(stack);
      const proxy = await testkit.createHostileProxy({ target: { host: "127.0.0.1", port: server.ready.port } });
      const url = proxy.url + new URL(server.ready.url).pathname.replace(/\/$/, "");
      try {
        out[stack] = {};
        for (const mode of ["refused", "hung"]) {
          proxy.reset();
          if (mode === "refused") proxy.refuseUpgrades(403);
          else proxy.hangUpgrades(true);
          const runs = [];
          for (let i = 0; i < counts.hostileRuns; i++) {
            // A fresh process per run: a client that remembers which transport worked (Lifeline
            // does, per process in Node) must pay for its first connection every time.
            const load = await startLoad();
            try {
              runs.push((await load.ask({ type: "link", stack, url, boundMs: counts.hostileBoundMs }, counts.hostileBoundMs + 30_000)).result);
            } finally {
              await load.stop();
            }
            // A client that got no link the first time will not get one the next time either.
            if (runs.at(-1).ms === null) break;
          }
          const times = runs.map((run) => run.ms).filter((ms) => ms !== null).sort((a, b) => a - b);
          out[stack][mode] = {
            medianMs: times.length === runs.length ? times[Math.floor(times.length / 2)] : null,
            transport: runs.at(-1).transport,
            runs,
          };
          log(`  ${stack} ${mode}: ${out[stack][mode].medianMs?.toFixed(0) ?? "no link"} ms via ${out[stack][mode].transport}`);
        }
      } finally {
        await proxy.close();
        await server.stop();
      }
    }
  } finally {
    if (testkit.dir) rmSync(testkit.dir, { recursive: true, force: true });
  }
  return out;
}

async function main() {
  const started = Date.now();
  if (!flag("no-build")) buildIfStale();
  const git = (...command) => spawnSync("git", command, { cwd: root, encoding: "utf8" }).stdout?.trim() ?? "";
  const machine = {
    commit: git("rev-parse", "--short", "HEAD") + (git("status", "--porcelain", "--", "packages") ? " + uncommitted changes in packages/" : ""),
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
  };
  log(`bench on ${machine.cpu} × ${machine.cores}, Node ${machine.node}${quick ? " (quick)" : ""}`);
  const results = {};
  for (const config of configs) results[config.id] = await runConfig(config);
  const report = { machine, quick, counts, results };
  if (workloads.includes("size")) report.bundle = bundleSizes();
  if (workloads.includes("hostile")) {
    log("hostile proxy");
    report.hostile = await step("hostile", hostile);
  }
  report.targets = targets(report);
  report.durationSec = Math.round((Date.now() - started) / 1000);

  const table = renderTable(report);
  process.stdout.write(`\n${table}\n`);
  mkdirSync(join(root, "bench/results"), { recursive: true });
  // Partial or quick runs must not overwrite the published figures.
  const complete = !quick && !only && !list("workloads");
  const file = complete ? "bench/results/latest.json" : "bench/results/quick.local.json";
  writeFileSync(join(root, file), JSON.stringify(report, null, 2) + "\n");
  if (complete) writeDocs(join(root, "docs/benchmarks.md"), report, table);
  log(`\nwrote ${file}${complete ? " and docs/benchmarks.md" : ""} (${report.durationSec} s)`);
  if (flag("profile")) log(`CPU profiles in ${profileDir}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
