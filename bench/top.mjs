// Summarises a V8 .cpuprofile (from `node bench/run.mjs --profile`): the functions with the most
// self time and the most total time, so a missed target can be traced to its cause.
//   node bench/top.mjs $TMPDIR/lifeline-bench-profiles/CPU.*.cpuprofile [--limit=25]
import { readFileSync } from "node:fs";
import { basename } from "node:path";

const files = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const limit = Number(process.argv.find((arg) => arg.startsWith("--limit="))?.slice(8) ?? 25);

for (const file of files) {
  const { nodes, samples, timeDeltas, startTime, endTime } = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map();
  for (let i = 0; i < samples.length; i++) self.set(samples[i], (self.get(samples[i]) ?? 0) + (timeDeltas[i] ?? 0));

  const name = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    return `${functionName || "(anonymous)"} ${url ? basename(url) + ":" + (lineNumber + 1) : ""}`.trim();
  };
  const selfBy = new Map();
  const totalBy = new Map();
  for (const [id, us] of self) {
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const key = name(byId.get(at));
      if (at === id) selfBy.set(key, (selfBy.get(key) ?? 0) + us);
      // Recursion counts once per sample.
      if (!seen.has(key)) totalBy.set(key, (totalBy.get(key) ?? 0) + us);
      seen.add(key);
    }
  }
  const total = endTime - startTime;
  const show = (title, map) => {
    console.log(`  ${title}`);
    for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
      console.log(`    ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`);
    }
  };
  console.log(`${basename(file)}: ${(total / 1000).toFixed(0)} ms`);
  show("self", selfBy);
  show("total", totalBy);
}
