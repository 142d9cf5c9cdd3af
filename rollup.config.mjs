// One function builds the configs of every package: ESM + CJS + bundled types for each entry,
// and for the client also the minified CDN bundles (IIFE global `Lifeline`, and ESM).
import { existsSync, rmSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import terser from "@rollup/plugin-terser";
import typescript from "@rollup/plugin-typescript";
import { dts } from "rollup-plugin-dts";
import { cdnTerserOptions } from "./scripts/terser-options.mjs";

const root = (path) => fileURLToPath(new URL(path, import.meta.url));

// Chunk names carry a content hash: without a clean start, every build would leave the last
// one's chunks in dist, and a package packed from a working copy would ship them all.
for (const pkg of ["client", "protocol", "server"]) rmSync(root(`./packages/${pkg}/dist`), { recursive: true, force: true });
const protocolSource = root("./packages/protocol/src/index.ts");

/** The client inlines @lifeline/protocol so that it ships with zero runtime dependencies. */
const inlineProtocol = () => ({
  name: "inline-protocol",
  resolveId: (id) => (id === "@lifeline/protocol" ? protocolSource : null),
});

/**
 * The CDN bundles run in browsers only: a module of the client or protocol with a `.browser.ts`
 * sibling is replaced by it there, leaving out what only other engines need (base64 in plain JS,
 * the wait for Node's `ws` to let a socket go).
 */
const browserVariants = () => ({
  name: "browser-variants",
  resolveId(id, importer) {
    if (!id.startsWith(".") || !id.endsWith(".js") || !importer || ![root("./packages/protocol/src/"), root("./packages/client/src/")].some((dir) => importer.startsWith(dir))) return null;
    const variant = resolvePath(dirname(importer), id.replace(/\.js$/, ".browser.ts"));
    return existsSync(variant) ? variant : null;
  },
});

const ts = (pkg) =>
  typescript({
    tsconfig: root("./tsconfig.base.json"),
    include: [`packages/${pkg}/src/**/*.ts`, "packages/protocol/src/**/*.ts"],
    // inlineSources: the maps carry the TypeScript, which the published packages do not ship.
    compilerOptions: { declaration: false, sourceMap: true, inlineSources: true, noEmit: false, rootDir: root("./packages") },
    noEmitOnError: true,
    filterRoot: root("./"),
  });

const typesConfig = (pkg, entry, { inline }) => ({
  input: `packages/${pkg}/src/${entry}.ts`,
  plugins: [
    ...(inline ? [inlineProtocol()] : []),
    // Members marked @internal (an injected clock or retry policy, for tests) stay out of the published types.
    dts({ tsconfig: root("./tsconfig.base.json"), compilerOptions: { noEmit: false, declaration: true, stripInternal: true } }),
  ],
  external: inline ? [] : [/^@lifeline\//, /^node:/, "ws"],
  // CommonJS users get the same declarations under .d.cts, so `require` resolves correct types.
  output: [
    { file: `packages/${pkg}/dist/${entry}.d.ts`, format: "es" },
    { file: `packages/${pkg}/dist/${entry}.d.cts`, format: "es" },
  ],
});

function library(pkg, entries, { inline = false, external = [] } = {}) {
  const input = Object.fromEntries(entries.map((entry) => [entry, `packages/${pkg}/src/${entry}.ts`]));
  const dir = `packages/${pkg}/dist`;
  return [
    {
      input,
      external,
      plugins: [...(inline ? [inlineProtocol()] : []), ts(pkg)],
      output: [
        { dir, format: "es", entryFileNames: "[name].js", chunkFileNames: "chunks/[name]-[hash].js", sourcemap: true },
        { dir, format: "cjs", entryFileNames: "[name].cjs", chunkFileNames: "chunks/[name]-[hash].cjs", sourcemap: true, exports: "named" },
      ],
    },
    ...entries.map((entry) => typesConfig(pkg, entry, { inline })),
  ];
}

// The IIFE's one top-level name is the global `Lifeline`: it must not be treated as unused.
const minify = (format) => terser(format === "iife" ? { ...cdnTerserOptions, module: false, toplevel: false } : cdnTerserOptions);

const cdn = {
  input: "packages/client/src/index.ts",
  plugins: [inlineProtocol(), browserVariants(), ts("client")],
  output: [
    { file: "packages/client/dist/lifeline.min.js", format: "iife", name: "Lifeline", sourcemap: true, plugins: [minify("iife")] },
    { file: "packages/client/dist/lifeline.esm.min.js", format: "es", sourcemap: true, plugins: [minify("es")] },
  ],
};

export default [
  ...library("protocol", ["index"]),
  ...library("client", ["index", "core", "transports/websocket", "transports/http-stream", "transports/long-polling"], { inline: true }),
  cdn,
  ...library("server", ["index", "cli"], { external: [/^node:/, "ws", "@lifeline/protocol"] }),
];
