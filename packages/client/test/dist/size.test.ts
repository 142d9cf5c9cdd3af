import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import terser from "@rollup/plugin-terser";
import { rollup } from "rollup";
import { describe, expect, it } from "vitest";

/**
 * The size check CI runs (`node scripts/size.mjs --check`) and what it measures: an app that
 * forces one transport carries none of the others. Needs `npm run build` first; skipped
 * (saying so) when the client's dist folder is missing.
 */

const repo = fileURLToPath(new URL("../../../../", import.meta.url));
const dist = join(repo, "packages/client/dist/");
const built = existsSync(join(dist, "core.js")) && existsSync(join(dist, "lifeline.min.js"));
const suite = built ? describe : describe.skip;
const title = built ? "bundle size" : "bundle size (skipped: no packages/client/dist; run `npm run build` first)";

type Report = { budget: Record<string, number>; target: Record<string, number>; bundles: Record<string, { min: number; gzip: number; brotli: number }> };

/** Runs the size script; returns its exit status, stdout and stderr. */
function sizeScript(...args: string[]): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, ["scripts/size.mjs", ...args], { cwd: repo, encoding: "utf8", stdio: "pipe" });
    return { status: 0, stdout, stderr: "" };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { status: failed.status, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** What a bundler and minifier keep of the published ESM for this app. */
async function bundle(source: string): Promise<string> {
  const { terserOptions } = (await import(join(repo, "scripts/terser-options.mjs"))) as { terserOptions: object };
  const build = await rollup({
    input: "app",
    plugins: [{ name: "app", resolveId: (id) => (id === "app" ? id : null), load: (id) => (id === "app" ? source : null) }],
  });
  const { output } = await build.generate({ format: "es", plugins: [terser(terserOptions)] });
  await build.close();
  return output[0].code;
}

suite(title, () => {
  it("reports every bundle in min, gzip and brotli, and the committed ceilings hold", () => {
    const run = sizeScript("--check", "--json");
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    for (const name of ["full", "websocket-only", "streaming-only", "polling-only", "default entry"]) {
      const { min, gzip, brotli } = report.bundles[name]!;
      expect(gzip, name).toBeGreaterThan(1000);
      expect(gzip, name).toBeLessThan(min);
      expect(brotli, name).toBeLessThan(min);
    }
    for (const [name, ceiling] of Object.entries(report.budget)) expect(report.bundles[name]!.gzip, name).toBeLessThanOrEqual(ceiling);
    expect(Object.keys(report.target)).toEqual(["full", "websocket-only"]);
    // One transport weighs less than all three.
    expect(report.bundles["websocket-only"]!.gzip).toBeLessThan(report.bundles["streaming-only"]!.gzip);
    expect(report.bundles["streaming-only"]!.gzip).toBeLessThan(report.bundles.full!.gzip);
  });

  /** Runs the size check against this budget file's contents. */
  function checkAgainst(budget: object): { status: number; stdout: string; stderr: string } {
    const dir = mkdtempSync(join(tmpdir(), "lifeline-size-"));
    try {
      writeFileSync(join(dir, "budget.json"), JSON.stringify(budget));
      return sizeScript("--check", `--budget=${join(dir, "budget.json")}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("fails, naming the bundle, when one is over its ceiling", () => {
    const run = checkAgainst({ gzip: { full: 100_000, "websocket-only": 1000 } });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/websocket-only is \d+ B gzip, over its ceiling of 1000 B/);
    expect(run.stderr).not.toMatch(/full is/);
  });

  it("fails, naming it, when the budget names a bundle it does not measure", () => {
    const run = checkAgainst({ gzip: { full: 100_000, "websocket-onyl": 100_000 } });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/the budget names websocket-onyl, which this report does not measure/);
  });

  it("leaves the HTTP transports out of an app that forces WebSocket, and WebSocket out of one that forces polling", async () => {
    const app = (transport: string, name: string) => `import { connect } from "${dist}core.js"; import { ${name} } from "${dist}transports/${transport}.js"; connect("http://x/y", { transportFactories: [${name}] });`;
    const wsOnly = await bundle(app("websocket", "webSocket"));
    expect(wsOnly).toMatch(/new \w+\.WebSocket\(/);
    for (const absent of ["XMLHttpRequest(", "getReader", "/stream", "/poll", "/send", "lifeline:transport:", "demoted for", "localStorage"]) expect(wsOnly, absent).not.toContain(absent);

    const pollingOnly = await bundle(app("long-polling", "longPolling"));
    expect(pollingOnly).toContain("/poll");
    // (It has a stream reader of its own: poll answers are read as they arrive.)
    for (const absent of [".WebSocket(", "/stream", "/ws", "stream ended"]) expect(pollingOnly, absent).not.toContain(absent);
    // The CDN bundle, by contrast, has all three.
    const cdn = readFileSync(join(dist, "lifeline.min.js"), "utf8");
    for (const present of ["/ws", "/stream", "/poll", "/send", "lifeline:transport:", "demoted for"]) expect(cdn, present).toContain(present);
  });

  it("leaves the plain-JS base64 out of the CDN bundles only: browsers have btoa/atob, React Native on JavaScriptCore does not", async () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (const file of ["lifeline.min.js", "lifeline.esm.min.js"]) {
      const cdn = readFileSync(join(dist, file), "utf8");
      expect(cdn, file).not.toContain(alphabet);
      expect(cdn, file).toMatch(/btoa\(/);
    }
    // What a React Native app bundles from npm keeps it.
    const npm = await bundle(`import { connect } from "${dist}index.js"; connect("http://x/y");`);
    expect(npm).toContain(alphabet);
  });

  it("leaves the wait for Node's ws to let a closed socket go out of the CDN bundles only", async () => {
    for (const file of ["lifeline.min.js", "lifeline.esm.min.js"]) {
      const cdn = readFileSync(join(dist, file), "utf8");
      expect(cdn, file).not.toContain("terminate");
      expect(cdn, file).toContain(".close(");
    }
    const npm = await bundle(`import { connect } from "${dist}index.js"; connect("http://x/y");`);
    expect(npm).toContain("terminate");
  });
});
