// Size report of what users ship: the CDN bundles as built, and what a bundler keeps from the
// ESM entries when an app picks one transport. Expects `npm run build` to have run; it builds
// nothing to disk. Usage: node scripts/size.mjs [--check] [--json[=file]] [--budget=file]
// --check exits 1 when a bundle is over its ceiling (`gzip` in the budget file); the `target`
// sizes are the product's goal and are reported, not enforced.
import { readFileSync, existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import terser from "@rollup/plugin-terser";
import { rollup } from "rollup";
import { terserOptions } from "./terser-options.mjs";

const dist = fileURLToPath(new URL("../packages/client/dist/", import.meta.url));
const args = process.argv.slice(2);
const budgetFile = args.find((arg) => arg.startsWith("--budget="))?.slice("--budget=".length) ?? new URL("./size-budget.json", import.meta.url);
const { gzip: budget, target = {} } = JSON.parse(readFileSync(budgetFile, "utf8"));

/** The apps: each entry is what a bundler would see, from the published ESM files. */
const apps = {
  "websocket-only": `export { connect } from "${dist}core.js"; export { webSocket } from "${dist}transports/websocket.js";`,
  "streaming-only": `export { connect } from "${dist}core.js"; export { httpStream } from "${dist}transports/http-stream.js";`,
  "polling-only": `export { connect } from "${dist}core.js"; export { longPolling } from "${dist}transports/long-polling.js";`,
  "default entry": `export * from "${dist}index.js";`,
};

async function bundle(source) {
  const build = await rollup({
    input: "app",
    plugins: [{ name: "app", resolveId: (id) => (id === "app" ? id : null), load: (id) => (id === "app" ? source : null) }],
    onwarn: (warning) => {
      throw new Error(`bundling failed: ${warning.message}`);
    },
  });
  const { output } = await build.generate({ format: "es", plugins: [terser(terserOptions)] });
  await build.close();
  return output[0].code;
}

const measure = (code) => {
  const bytes = Buffer.from(code);
  return {
    min: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
};

const missing = ["lifeline.min.js", "lifeline.esm.min.js", "core.js", "index.js"].filter((file) => !existsSync(dist + file));
if (missing.length) {
  console.error(`size: ${missing.join(", ")} missing in packages/client/dist; run \`npm run build\` first.`);
  process.exit(2);
}

const rows = {
  full: { file: "dist/lifeline.min.js (IIFE, CDN)", ...measure(readFileSync(dist + "lifeline.min.js", "utf8").replace(/\n\/\/# sourceMappingURL=.*$/, "")) },
  "full esm": { file: "dist/lifeline.esm.min.js", ...measure(readFileSync(dist + "lifeline.esm.min.js", "utf8").replace(/\n\/\/# sourceMappingURL=.*$/, "")) },
};
for (const [name, source] of Object.entries(apps)) rows[name] = { file: "bundled from dist ESM", ...measure(await bundle(source)) };

const unknown = [...Object.keys(budget), ...Object.keys(target)].filter((name) => !Object.hasOwn(rows, name));
if (unknown.length) {
  console.error(`size: the budget names ${[...new Set(unknown)].join(", ")}, which this report does not measure; it measures ${Object.keys(rows).join(", ")}.`);
  process.exit(2);
}

const json = args.find((arg) => arg === "--json" || arg.startsWith("--json="));
const over = Object.entries(budget).filter(([name, limit]) => rows[name].gzip > limit);

if (json) {
  const report = { budget, target, bundles: rows };
  const text = JSON.stringify(report, null, 2) + "\n";
  if (json.includes("=")) writeFileSync(json.slice("--json=".length), text);
  else process.stdout.write(text);
} else {
  const kb = (n) => `${(n / 1024).toFixed(2)} KB`;
  const table = Object.entries(rows).map(([name, r]) => ({
    bundle: name,
    min: kb(r.min),
    gzip: kb(r.gzip),
    brotli: kb(r.brotli),
    ceiling: budget[name] ? `${kb(budget[name])} ${r.gzip > budget[name] ? `OVER by ${r.gzip - budget[name]} B` : "ok"}` : "",
    target: target[name] ? `${kb(target[name])} ${r.gzip > target[name] ? `missed by ${r.gzip - target[name]} B` : "met"}` : "",
    source: r.file,
  }));
  console.table(table);
}

if (args.includes("--check")) {
  if (over.length) {
    for (const [name, limit] of over) console.error(`size: ${name} is ${rows[name].gzip} B gzip, over its ceiling of ${limit} B`);
    process.exit(1);
  }
  console.error("size: every bundle is within its ceiling");
}
