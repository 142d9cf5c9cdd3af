// Turns the results of bench/run.mjs into one Markdown table (absolute figures, then ratios
// Lifeline ÷ peer), the target verdicts, and the generated part of docs/benchmarks.md.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const COLUMNS = ["lifeline-websocket", "lifeline-streaming", "lifeline-polling", "socketio-websocket", "socketio-polling", "ws"];
const HEADERS = ["Lifeline WS", "Lifeline streaming", "Lifeline polling", "socket.io WS", "socket.io polling", "raw ws"];
/** Ratio columns: [Lifeline config, peer config]. */
const RATIOS = [
  ["lifeline-websocket", "socketio-websocket", "LL WS ÷ sio WS"],
  ["lifeline-websocket", "ws", "LL WS ÷ ws"],
  ["lifeline-streaming", "socketio-polling", "LL stream ÷ sio poll"],
  ["lifeline-polling", "socketio-polling", "LL poll ÷ sio poll"],
];

const num = (value) => typeof value === "number" && Number.isFinite(value);
const fixed = (digits) => (value) => value.toFixed(digits);
const fmt = {
  ms: (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(2)) + " ms",
  us: (v) => v.toFixed(0) + " µs",
  rate: (v) => (v >= 1e6 ? (v / 1e6).toFixed(2) + " M/s" : v >= 1e4 ? (v / 1e3).toFixed(0) + " k/s" : v.toFixed(0) + " /s"),
  kib: (v) => (v / 1024).toFixed(1) + " KiB",
  bytes: (v) => (v / 1024).toFixed(2) + " KiB",
};

/** Rows: label, unit formatter, and how to read a value from one configuration's results. */
function rows(report) {
  const r = (id) => report.results[id] ?? {};
  const bundle = report.bundle ?? {};
  const forBundle = (key) => (id) => (id.startsWith("lifeline") ? bundle.lifeline?.[key] : id.startsWith("socketio") ? bundle.socketio?.[key] : undefined);
  const hostile = (mode) => (id) => {
    // Default settings pick the transport, so the figure sits in the column of the one that
    // carried the link (a failure in the stack's WebSocket column).
    const stack = id === "ws" ? "ws" : id.slice(0, id.indexOf("-"));
    const entry = report.hostile?.[stack]?.[mode];
    if (!entry) return undefined;
    const column = (transport) => (stack === "ws" ? "ws" : `${stack}-${transport}`);
    if (entry.medianMs === null) return id === column("websocket") ? "no link" : undefined;
    return id === column(entry.transport) ? entry.medianMs : undefined;
  };
  return [
    ["1. Connect → first echo, median", fmt.ms, (id) => r(id).connect?.medianMs],
    ["2. Echo RTT p50", fmt.us, (id) => r(id).echo?.p50Us],
    ["2. Echo RTT p95", fmt.us, (id) => r(id).echo?.p95Us],
    ["2. Echo RTT p99", fmt.us, (id) => r(id).echo?.p99Us],
    ["3. Throughput client → server (echoed)", fmt.rate, (id) => r(id).throughput?.upPerSec, "higher"],
    ["3. Throughput server → client", fmt.rate, (id) => r(id).throughput?.downPerSec, "higher"],
    ["4. Fan-out deliveries", fmt.rate, (id) => r(id).fanout?.deliveredPerSec, "higher"],
    ["5. Server RSS per idle session", fmt.kib, (id) => r(id).memory?.rssPerSession],
    ["5. Server heap per idle session", fmt.kib, (id) => r(id).memory?.heapPerSession],
    ["6. Full client bundle, min", fmt.bytes, forBundle("minBytes")],
    ["6. Full client bundle, min+gzip", fmt.bytes, forBundle("gzipBytes")],
    ["6. Full client bundle, min+brotli", fmt.bytes, forBundle("brotliBytes")],
    ["7. Link via proxy, WS refused", fmt.ms, hostile("refused")],
    ["7. Link via proxy, WS hung", fmt.ms, hostile("hung")],
  ];
}

function cell(value, format) {
  if (typeof value === "string") return value;
  return num(value) ? format(value) : "–";
}

/** The one table: a row per metric, a column per configuration, then Lifeline ÷ peer. */
export function renderTable(report) {
  const head = ["Workload", ...HEADERS, ...RATIOS.map(([, , label]) => label)];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i ? "---:" : "---")).join("|")}|`];
  for (const [label, format, read] of rows(report)) {
    const values = COLUMNS.map((id) => cell(read(id), format));
    const ratios = RATIOS.map(([ours, peer]) => {
      const a = read(ours);
      const b = read(peer);
      return num(a) && num(b) && b !== 0 ? fixed(2)(a / b) + "×" : "–";
    });
    lines.push(`| ${[label, ...values, ...ratios].join(" | ")} |`);
  }
  lines.push("", ...targets(report).map((t) => `- ${t.ok === null ? "n/a" : t.ok ? "✅ met" : "❌ missed"}: ${t.name} (${t.detail})`));
  return lines.join("\n");
}

/** The targets, each judged on ratios from this run. */
export function targets(report) {
  const get = (id, path) => path.split(".").reduce((value, key) => value?.[key], report.results[id]);
  const check = (name, a, b, op, bound) => {
    if (!num(a) || !num(b) || b === 0) return { name, ok: null, detail: "not measured" };
    const ratio = a / b;
    return { name, ok: op === "≤" ? ratio <= bound : ratio >= bound, ratio, detail: `${ratio.toFixed(2)}× ${op} ${bound}×` };
  };
  const list = [
    check("echo p50 over WebSocket ≤ 1.15 × raw ws", get("lifeline-websocket", "echo.p50Us"), get("ws", "echo.p50Us"), "≤", 1.15),
    check("echo p50 over WebSocket ≤ socket.io WS", get("lifeline-websocket", "echo.p50Us"), get("socketio-websocket", "echo.p50Us"), "≤", 1),
  ];
  for (const [dir, key] of [["client → server", "upPerSec"], ["server → client", "downPerSec"]]) {
    list.push(
      check(`throughput ${dir}: WebSocket ≥ 2 × socket.io WS`, get("lifeline-websocket", `throughput.${key}`), get("socketio-websocket", `throughput.${key}`), "≥", 2),
      check(`throughput ${dir}: streaming ≥ 3 × socket.io polling`, get("lifeline-streaming", `throughput.${key}`), get("socketio-polling", `throughput.${key}`), "≥", 3),
      check(`throughput ${dir}: polling ≥ 3 × socket.io polling`, get("lifeline-polling", `throughput.${key}`), get("socketio-polling", `throughput.${key}`), "≥", 3),
    );
  }
  list.push(
    check("server heap per idle WebSocket session ≤ 0.5 × socket.io", get("lifeline-websocket", "memory.heapPerSession"), get("socketio-websocket", "memory.heapPerSession"), "≤", 0.5),
    check("server RSS per idle WebSocket session ≤ 0.5 × socket.io", get("lifeline-websocket", "memory.rssPerSession"), get("socketio-websocket", "memory.rssPerSession"), "≤", 0.5),
    check("full client bundle min+gzip ≤ 0.5 × socket.io-client", report.bundle?.lifeline?.gzipBytes, report.bundle?.socketio?.gzipBytes, "≤", 0.5),
  );
  return list;
}

const START = "<!-- bench:start (generated by `pnpm bench`; edit outside these markers) -->";
const END = "<!-- bench:end -->";

/** Replaces the generated part of docs/benchmarks.md, keeping everything around it. */
export function writeDocs(file, report, table) {
  const { machine, counts } = report;
  const generated = [
    START,
    `Latest run: ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores, ${machine.memoryGiB} GiB), ` +
      `Node ${machine.node}, ${machine.platform}; code at ${machine.commit}; the run took ${report.durationSec} s. ` +
      `Counts: ${counts.connect} connections, ${counts.echo} round trips, ${counts.throughput} messages each way, ` +
      `${counts.fanoutClients} clients × ${counts.fanoutMessages} messages, ${counts.idleSessions} idle sessions. ` +
      `Raw figures: [bench/results/latest.json](../bench/results/latest.json).`,
    "",
    table,
    END,
  ].join("\n");
  const current = existsSync(file) ? readFileSync(file, "utf8") : `# Benchmarks\n\n${START}\n${END}\n`;
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next = start >= 0 && end > start ? current.slice(0, start) + generated + current.slice(end + END.length) : current + "\n" + generated + "\n";
  writeFileSync(file, next);
}
