// @lifeline/testkit ships TypeScript sources only (no build entry). Node 20 cannot import them,
// so its built output is used when there is one, and otherwise its files are transpiled (types
// stripped, nothing bundled) into a temporary directory with the TypeScript compiler.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** @returns {Promise<{ createHostileProxy: Function, source: string }>} */
export async function loadTestkit() {
  const built = join(root, "packages/testkit/dist/index.js");
  if (existsSync(built)) return { ...(await import(pathToFileURL(built).href)), source: "packages/testkit/dist" };
  const ts = (await import("typescript")).default;
  const src = join(root, "packages/testkit/src");
  const out = join(tmpdir(), `lifeline-bench-testkit-${process.pid}`);
  mkdirSync(out, { recursive: true });
  // An ES module scope for the .js files, whatever package.json sits above the temp dir.
  writeFileSync(join(out, "package.json"), '{ "type": "module" }\n');
  for (const file of readdirSync(src).filter((name) => name.endsWith(".ts"))) {
    const { outputText } = ts.transpileModule(readFileSync(join(src, file), "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      fileName: file,
    });
    writeFileSync(join(out, file.replace(/\.ts$/, ".js")), outputText);
  }
  return { ...(await import(pathToFileURL(join(out, "index.js")).href)), source: "packages/testkit/src (transpiled)", dir: out };
}
