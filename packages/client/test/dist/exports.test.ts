import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The published shape of the built packages: every `exports` condition points at a file the
 * build made, ESM and CJS agree, and importing any entry runs nothing at module scope.
 * Needs `npm run build` first; skipped (saying so) when the dist folders are missing.
 */

const packagesDir = fileURLToPath(new URL("../../../", import.meta.url));
const published = ["client", "protocol", "server"] as const;
type Manifest = { version: string; exports: Record<string, unknown>; main?: string; module?: string; types?: string; sideEffects?: boolean; "react-native"?: string };
const manifest = (pkg: string): Manifest => JSON.parse(readFileSync(join(packagesDir, pkg, "package.json"), "utf8")) as Manifest;
const built = published.every((pkg) => existsSync(join(packagesDir, pkg, "dist")));
const suite = built ? describe : describe.skip;
const title = built ? "built packages" : "built packages (skipped: no dist folders; run `npm run build` first)";

/** Every [condition path, file] pair under one export, nested conditions flattened. */
function targets(value: unknown, path: string[] = []): Array<[string, string]> {
  if (typeof value === "string") return [[path.join(" > ") || "(default)", value]];
  if (value && typeof value === "object") return Object.entries(value).flatMap(([key, inner]) => targets(inner, [...path, key]));
  throw new Error(`unexpected export target ${JSON.stringify(value)}`);
}

/** An export of code (conditions per environment), not a plain file such as package.json or a CDN bundle. */
const isCode = ([subpath, target]: [string, unknown]) => typeof target === "object" && !subpath.startsWith("./dist/");

/** Runs a script in a fresh Node process (nothing imported before it) and parses its JSON output. */
function runFresh(script: string): unknown {
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: packagesDir }));
}

suite(title, () => {
  describe.each(published)("@lifeline/%s", (pkg) => {
    const json = manifest(pkg);
    const root = join(packagesDir, pkg);

    it("resolves every export condition to a file that exists", () => {
      const missing: string[] = [];
      for (const [subpath, target] of Object.entries(json.exports)) {
        for (const [condition, file] of targets(target)) {
          if (!existsSync(join(root, file))) missing.push(`${subpath} [${condition}] → ${file}`);
        }
      }
      for (const field of ["main", "module", "types"] as const) {
        const file = json[field];
        if (file && !existsSync(join(root, file))) missing.push(`${field} → ${file}`);
      }
      expect(missing).toEqual([]);
    });

    it("packs its README, LICENSE and only the chunks its entries load", () => {
      const packed = (JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
      expect(packed).toEqual(expect.arrayContaining(["README.md", "LICENSE", "package.json"]));
      // Chunks are named by content hash: one no entry imports is left from an earlier build.
      const loaded = new Set<string>();
      const visit = (file: string) => {
        if (loaded.has(file)) return;
        loaded.add(file);
        const code = readFileSync(join(root, file), "utf8");
        for (const [, specifier] of code.matchAll(/(?:from\s*|require\(|import\()['"](\.\.?\/[^'"]+)['"]/g)) visit(join(dirname(file), specifier!));
      };
      for (const [, target] of Object.entries(json.exports).filter(isCode)) {
        for (const [condition, file] of targets(target)) if (!condition.startsWith("types")) visit(join(file));
      }
      const stale = packed.filter((path) => /(^|\/)chunks\//.test(path) && !path.endsWith(".map") && !loaded.has(path));
      expect(stale).toEqual([]);
    });

    it("lists types first and has ESM, CJS and both kinds of declarations for each code entry", () => {
      for (const [subpath, target] of Object.entries(json.exports).filter(isCode)) {
        const conditions = target as Record<string, unknown>;
        expect(Object.keys(conditions)[0], subpath).toBe("types");
        expect(conditions["types"], subpath).toEqual({ import: expect.stringMatching(/\.d\.ts$/), require: expect.stringMatching(/\.d\.cts$/) });
        expect(conditions["import"], subpath).toMatch(/\.js$/);
        expect(conditions["require"], subpath).toMatch(/\.cjs$/);
      }
    });

    it("exports the same names from its ESM and CJS builds", () => {
      const entries = Object.entries(json.exports).filter(isCode);
      const pairs = entries.map(([subpath, target]) => {
        const conditions = target as Record<string, string>;
        return [subpath, join(root, conditions["import"]!), join(root, conditions["require"]!)];
      });
      const names = runFresh(`
        import { createRequire } from "node:module";
        const require = createRequire(import.meta.url);
        const out = {};
        for (const [subpath, esm, cjs] of ${JSON.stringify(pairs)}) {
          out[subpath] = { esm: Object.keys(await import(esm)).sort(), cjs: Object.keys(require(cjs)).sort() };
        }
        console.log(JSON.stringify(out));
      `) as Record<string, { esm: string[]; cjs: string[] }>;
      for (const [subpath, { esm, cjs }] of Object.entries(names)) {
        expect(esm.length, subpath).toBeGreaterThan(0);
        expect(cjs, subpath).toEqual(esm);
      }
    });
  });

  // `npm run pack:packages` packs with pnpm, which turns the `workspace:*` ranges between the
  // packages into versions; a tarball that kept one could not be installed by npm.
  it("packs (as `npm run pack:packages` does) into manifests with versions, never workspace: ranges", () => {
    const destination = mkdtempSync(join(tmpdir(), "lifeline-packs-"));
    try {
      const script = (JSON.parse(readFileSync(join(packagesDir, "../package.json"), "utf8")) as { scripts: Record<string, string> }).scripts["pack:packages"]!;
      const command = script.slice(script.indexOf("npx ")).replace(/--pack-destination \S+$/, "");
      execFileSync("sh", ["-c", `${command} --pack-destination "${destination}"`], { cwd: join(packagesDir, ".."), stdio: "pipe" });
      for (const pkg of published) {
        const packed = JSON.parse(execFileSync("tar", ["-xOzf", join(destination, `lifeline-${pkg}-${manifest(pkg).version}.tgz`), "package/package.json"], { encoding: "utf8" })) as Record<string, Record<string, string> | undefined>;
        const ranges = ["dependencies", "devDependencies", "peerDependencies"].flatMap((field) => Object.entries(packed[field] ?? {}));
        expect(ranges.filter(([, range]) => range.startsWith("workspace:")), pkg).toEqual([]);
        if (pkg !== "protocol") expect(Object.fromEntries(ranges)["@lifeline/protocol"], pkg).toBe(manifest("protocol").version);
      }
    } finally {
      rmSync(destination, { recursive: true, force: true });
    }
  });

  describe("@lifeline/client", () => {
    const json = manifest("client");
    const root = join(packagesDir, "client");
    const codeEntries = Object.entries(json.exports).filter(isCode) as Array<[string, Record<string, string>]>;

    it("is side-effect free; browsers get ESM for import and CommonJS for require, React Native CommonJS", () => {
      expect(json.sideEffects).toBe(false);
      for (const [subpath, conditions] of codeEntries) {
        // Bundlers take the ES module, which they can shake, by `module` (webpack and esbuild,
        // for require() too, so one copy) or `import`; Jest's jsdom environment asks for
        // `browser` with `require` and does not transform node_modules, so it needs CommonJS.
        expect(conditions["module"], subpath).toBe(conditions["import"]);
        expect(conditions["browser"], subpath).toEqual({ import: conditions["import"], require: conditions["require"] });
        // Metro takes CommonJS as well (and shakes no trees), so one file serves import and
        // require there: one copy of the client (and of LifelineError, checked with instanceof).
        // Jest's react-native preset, like its jsdom environment, needs CommonJS.
        expect(conditions["react-native"], subpath).toBe(conditions["require"]);
      }
      expect(json["react-native"]).toBe(json.main);
    });

    it("ships code that imports nothing outside itself: no Node built-ins, no packages", () => {
      const seen = new Set<string>();
      const visit = (file: string) => {
        if (seen.has(file)) return;
        seen.add(file);
        const code = readFileSync(file, "utf8");
        const specifiers = [...code.matchAll(/(?:^|[;\n])\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|\brequire\(['"]([^'"]+)['"]\)|\bimport\(['"]([^'"]+)['"]\)/g)].map(
          (match) => match[1] ?? match[2] ?? match[3]!,
        );
        for (const specifier of specifiers) {
          expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\.?\//);
          visit(join(dirname(file), specifier));
        }
      };
      for (const [, conditions] of codeEntries) {
        visit(join(root, conditions["import"]!));
        visit(join(root, conditions["require"]!));
      }
      expect(seen.size).toBeGreaterThanOrEqual(codeEntries.length * 2);
    });

    /** Runs `run` in a temporary app that has the client installed (linked) and these files. */
    function inApp<T>(files: Record<string, string>, run: (project: string) => T): T {
      const project = mkdtempSync(join(tmpdir(), "lifeline-app-"));
      try {
        mkdirSync(join(project, "node_modules/@lifeline"), { recursive: true });
        symlinkSync(root, join(project, "node_modules/@lifeline/client"), "dir");
        for (const [name, text] of Object.entries(files)) writeFileSync(join(project, name), text);
        return run(project);
      } finally {
        rmSync(project, { recursive: true, force: true });
      }
    }

    /** What tsc reports in `project`, given these arguments: "" when it finds nothing. */
    function tscOutput(project: string, args: string[]): string {
      try {
        execFileSync(process.execPath, [join(packagesDir, "../node_modules/typescript/bin/tsc"), ...args], { cwd: project, encoding: "utf8" });
        return "";
      } catch (error) {
        return String((error as { stdout?: string }).stdout ?? error);
      }
    }

    /**
     * What import and require of the client resolve to under one export condition, from an app
     * that installed it, and whether loading both gives one copy (only when `load`).
     */
    function loadedUnder(condition: string, load = true): { imported: string; required: string; same?: boolean } {
      const script = `
        import { createRequire } from "node:module";
        const require = createRequire(import.meta.url);
        const file = (path) => path.replace(/^.*[\\\\/]dist[\\\\/]/, "dist/");
        const resolved = {
          imported: file(new URL(import.meta.resolve("@lifeline/client")).pathname),
          required: file(require.resolve("@lifeline/client")),
        };
        if (${load}) {
          const imported = await import("@lifeline/client");
          resolved.same = imported.LifelineError === require("@lifeline/client").LifelineError;
        }
        console.log(JSON.stringify(resolved));`;
      return inApp({}, (project) => JSON.parse(execFileSync(process.execPath, [`--conditions=${condition}`, "--input-type=module", "-e", script], { cwd: project, encoding: "utf8" })) as never);
    }

    it("under the react-native condition, import and require load one CommonJS copy (Metro, Jest's react-native preset)", () => {
      expect(loadedUnder("react-native")).toEqual({ imported: "dist/index.cjs", required: "dist/index.cjs", same: true });
    });

    it("under the browser condition, import loads the ES module and require the CommonJS build (Jest's jsdom)", () => {
      expect(loadedUnder("browser")).toMatchObject({ imported: "dist/index.js", required: "dist/index.cjs" });
    });

    // webpack and esbuild assert `module` for require() too: an app that both imports and
    // requires the client still bundles one copy, the ES module. (Node cannot load it by
    // require() before 22, so this only resolves.)
    it("under the module condition, import and require both resolve to the ES module (webpack, esbuild)", () => {
      expect(loadedUnder("module", false)).toEqual({ imported: "dist/index.js", required: "dist/index.js" });
    });

    // A Node project has @types/node but no DOM library: the declarations must not need it, and
    // the subpaths must have types under the old `node` resolution too (typesVersions).
    it.each(["nodenext", "node10"])("has declarations that typecheck in a Node project without the DOM library (%s resolution)", (resolution) => {
      const nodenext = resolution === "nodenext";
      const files = {
        "package.json": JSON.stringify(nodenext ? { type: "module" } : {}),
        "app.ts": `import { connect, LifelineError } from "@lifeline/client";
          import { connect as connectCore } from "@lifeline/client/core";
          import { webSocket } from "@lifeline/client/transports/websocket";
          import { httpStream } from "@lifeline/client/transports/http-stream";
          import { longPolling } from "@lifeline/client/transports/long-polling";
          import { connect as connectMinified } from "@lifeline/client/dist/lifeline.esm.min.js";
          connectMinified("http://127.0.0.1:8080/lifeline", { fetch }).close();
          const conn = connect("http://127.0.0.1:8080/lifeline", { transports: ["websocket", "polling"] });
          conn.on("message", (data: string | Uint8Array) => console.log(data));
          conn.on("error", (error: LifelineError) => console.log(error.code));
          connectCore("http://127.0.0.1:8080/lifeline", { transportFactories: [webSocket, httpStream, longPolling] }).close();
          export {};`,
      };
      const output = inApp(files, (project) => {
        symlinkSync(join(packagesDir, "../node_modules/@types"), join(project, "node_modules/@types"), "dir");
        const flags = ["--strict", "--noEmit", "--lib", "es2022", "--types", "node", "--module", nodenext ? "nodenext" : "commonjs", "--moduleResolution", resolution];
        return tscOutput(project, [...flags, "app.ts"]);
      });
      expect(output).toBe("");
    });

    // A library that exports what it made of the client has its declarations emitted: every type
    // they name must be exported by some entry (else TS4023 "cannot be named").
    it("lets a library emit declarations for values it makes of each entry", () => {
      const files = {
        "package.json": JSON.stringify({ type: "module" }),
        "lib.ts": `import { connect } from "@lifeline/client";
          import { connect as connectCore } from "@lifeline/client/core";
          import { webSocket } from "@lifeline/client/transports/websocket";
          import { httpStream } from "@lifeline/client/transports/http-stream";
          import { longPolling } from "@lifeline/client/transports/long-polling";
          export const factories = [webSocket, httpStream, longPolling];
          export const streamOnly = httpStream;
          export const open = () => connect("http://127.0.0.1:8080/lifeline");
          export const openCore = () => connectCore("http://127.0.0.1:8080/lifeline", { transportFactories: factories });`,
      };
      const output = inApp(files, (project) => {
        symlinkSync(join(packagesDir, "../node_modules/@types"), join(project, "node_modules/@types"), "dir");
        const flags = ["--strict", "--declaration", "--emitDeclarationOnly", "--outDir", "out", "--lib", "es2022", "--types", "node", "--module", "nodenext", "--moduleResolution", "nodenext"];
        return tscOutput(project, [...flags, "lib.ts"]);
      });
      expect(output).toBe("");
    });

    // React Native's TypeScript setup has neither the DOM library nor Node's types: its globals
    // are its own (fetch, WebSocket, XMLHttpRequest; no TextDecoder), and its WebSocket class
    // has no binaryType. The declarations must check there, skipLibCheck off.
    it("has declarations that typecheck with only React Native's kind of globals, skipLibCheck off", () => {
      const compilerOptions = { strict: true, noEmit: true, skipLibCheck: false, lib: ["es2022"], types: [], module: "commonjs", moduleResolution: "node10" };
      const files = {
        "package.json": JSON.stringify({}),
        "tsconfig.json": JSON.stringify({ compilerOptions, files: ["globals.d.ts", "app.ts"] }),
        "globals.d.ts": `declare function fetch(input: string, init?: { method?: string; body?: string }): Promise<{ status: number; text(): Promise<string> }>;
          declare class WebSocket {
            constructor(url: string);
            readonly readyState: number;
            onopen: ((event: unknown) => void) | null;
            onmessage: ((event: { data: string }) => void) | null;
            onclose: ((event: { code: number; reason: string }) => void) | null;
            onerror: ((event: unknown) => void) | null;
            send(data: string): void;
            close(code?: number, reason?: string): void;
          }`,
        "app.ts": `import { connect } from "@lifeline/client";
          import { connect as connectCore } from "@lifeline/client/core";
          import { httpStream } from "@lifeline/client/transports/http-stream";
          connect("https://example.com/lifeline", { WebSocket }).close();
          connectCore("https://example.com/lifeline", { transportFactories: [httpStream] }).close();
          export {};`,
      };
      expect(inApp(files, (project) => tscOutput(project, ["-p", "."]))).toBe("");
    });

    // A project with no platform declarations at all (a shared library's strict build, say):
    // the declarations must not need a global `fetch` either. The minified ES module has the
    // index entry's types, and the script tag's global is typed as getting-started.md shows.
    it("has declarations that typecheck with no platform globals declared at all, skipLibCheck off", () => {
      const compilerOptions = { strict: true, noEmit: true, skipLibCheck: false, lib: ["es2022"], types: [], module: "esnext", moduleResolution: "bundler" };
      const files = {
        "package.json": JSON.stringify({ type: "module" }),
        "tsconfig.json": JSON.stringify({ compilerOptions, files: ["app.ts"] }),
        "app.ts": `import { connect, type ClientOptions } from "@lifeline/client";
          import { connect as connectCore } from "@lifeline/client/core";
          import { longPolling } from "@lifeline/client/transports/long-polling";
          import { connect as connectMinified } from "@lifeline/client/dist/lifeline.esm.min.js";
          const options: ClientOptions = { transports: ["polling"] };
          connect("https://example.com/lifeline", options).close();
          connectMinified("https://example.com/lifeline", options).close();
          // The CDN script tag's global, declared as docs/getting-started.md says.
          declare const Lifeline: typeof import("@lifeline/client");
          export const viaGlobal = () => Lifeline.connect("https://example.com/lifeline").close();
          connectCore("https://example.com/lifeline", { transportFactories: [longPolling] }).close();
          export {};`,
      };
      expect(inApp(files, (project) => tscOutput(project, ["-p", "."]))).toBe("");
    });

    it("touches no global when any entry is imported or required", () => {
      const files = codeEntries.flatMap(([, conditions]) => [join(root, conditions["import"]!), join(root, conditions["require"]!)]);
      files.push(join(root, "dist/lifeline.esm.min.js"));
      // Every global a browser, React Native or Node client could reach for, plus the timers and
      // randomness a careless module scope would use. Reads are logged through getters, counted
      // only when the built code is on the stack (Node's own loader reads some of them).
      const watched = [
        "window", "self", "document", "navigator", "location", "addEventListener", "WebSocket", "fetch",
        "XMLHttpRequest", "ReadableStream", "TextDecoder", "TextEncoder", "AbortController", "Response",
        "setTimeout", "setInterval", "setImmediate", "queueMicrotask", "requestAnimationFrame", "process",
        "Buffer", "btoa", "atob", "console", "Date", "performance", "crypto",
      ];
      const result = runFresh(`
        import { createRequire } from "node:module";
        const require = createRequire(import.meta.url);
        const touched = new Set();
        const fromDist = () => /[\\/]dist[\\/]/.test(new Error().stack.split("\\n").slice(3).join("\\n"));
        const note = (name) => { if (fromDist()) touched.add(name); };
        for (const name of ${JSON.stringify(watched)}) {
          const original = globalThis[name];
          Object.defineProperty(globalThis, name, { configurable: true, get() { note(name); return original; }, set() { note(name + " (set)"); } });
        }
        const random = Math.random;
        Math.random = () => { note("Math.random"); return random(); };
        const before = new Set(Object.getOwnPropertyNames(globalThis));
        for (const file of ${JSON.stringify(files)}) {
          if (file.endsWith(".cjs")) require(file); else await import(file);
        }
        const added = Object.getOwnPropertyNames(globalThis).filter((name) => !before.has(name));
        process.stdout.write(JSON.stringify({ touched: [...touched], added }));
      `);
      expect(result).toEqual({ touched: [], added: [] });
    });
  });
});
