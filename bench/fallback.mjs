// `npm run bench:fallback`: time to first message for each hostile network behaviour, with
// default client settings. Runs bench/fallback.run.ts under vitest (the testkit is TypeScript
// only), then prints the table from the JSON it wrote.
//
//   node bench/fallback.mjs [--quick] [--runs=N] [--only=baseline,2-upgrade-hangs] [--debug]
//                           [--print] [--markdown]
//
// Full runs (10 per scenario, about 8 minutes) write bench/results/fallback.json; --quick
// (3 per scenario) writes bench/results/fallback.quick.local.json. --debug keeps every run's
// client debug log in the JSON. --print shows the table of the last
// results without running; --markdown prints it as the Markdown table of docs/transports.md.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const value = (name) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = args.includes("--quick");
const out = join(root, "bench/results", quick ? "fallback.quick.local.json" : "fallback.json");

const env = { ...process.env, LIFELINE_FALLBACK_OUT: out };
if (quick) env.LIFELINE_FALLBACK_QUICK = "1";
if (args.includes("--debug")) env.LIFELINE_FALLBACK_DEBUG = "1";
if (value("runs")) env.LIFELINE_FALLBACK_RUNS = value("runs");
if (value("only")) env.LIFELINE_FALLBACK_ONLY = value("only");

const startedAt = Date.now();
const printOnly = args.includes("--print");
const vitest = join(root, "node_modules/vitest/vitest.mjs");
const run = printOnly ? { status: 0 } : spawnSync(process.execPath, [vitest, "run", "--config", "bench/vitest.fallback.config.ts"], { cwd: root, env, stdio: "inherit" });

// A file from an earlier run must not pass for this one's figures.
if (!existsSync(out) || (!printOnly && statSync(out).mtimeMs < startedAt)) {
  console.error(printOnly ? `no results in ${out}` : "the benchmark wrote no results");
  process.exit(run.status || 1);
}

const report = JSON.parse(readFileSync(out, "utf8"));
const ms = (s) => (s ? `${s.median} / ${s.p90} / ${s.max}` : "–");
const rows = [
  ["scenario", "runs", "ends on", "first message ms (median / p90 / max)", "settles ms (median / max)", "gap after cut ms", "lost", "sessions lost"],
  ...report.scenarios.map((s) => [
    s.behaviour,
    `${s.runs - s.failed}/${s.runs}`,
    s.endedOn.join(", ") || "–",
    ms(s.firstMessageMs),
    s.settledMs ? `${s.settledMs.median} / ${s.settledMs.max}` : "–",
    s.gapMs ? `${s.gapMs.median} / ${s.gapMs.max}` : "–",
    String(s.lost),
    String(s.sessionsLost),
  ]),
];
if (args.includes("--markdown")) {
  const md = (row) => `| ${row.join(" | ")} |`;
  console.log([md(rows[0]), md(rows[0].map(() => "---")), ...rows.slice(1).map(md)].join("\n"));
  process.exit(run.status ?? 1);
}
const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
const line = (row) => row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd();
const { machine } = report;
console.log(`\nFallback benchmark: ${report.runsPerScenario} runs per scenario${report.quick ? " (quick)" : ""}`);
console.log(`${machine.cores} × ${machine.cpu}, Node ${machine.node}, ${machine.platform}, commit ${machine.commit}, ${machine.date}\n`);
console.log(line(rows[0]));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const row of rows.slice(1)) console.log(line(row));
for (const s of report.scenarios) {
  for (const r of s.runResults.filter((r) => r.error)) console.log(`  ${s.id}: ${r.error}`);
  if (s.wrongTransport) console.log(`  ${s.id}: ${s.wrongTransport} runs ended on another transport than ${s.expected}`);
}
console.log(`\nresults: ${out}`);
process.exit(run.status ?? 1);
