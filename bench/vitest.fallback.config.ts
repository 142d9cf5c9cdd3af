import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (path: string) => fileURLToPath(new URL(`../packages/${path}`, import.meta.url));

// Runs only the fallback benchmark (bench/fallback.mjs starts it), never as part of `npm test`.
// The testkit ships TypeScript sources only, so the benchmark goes through vitest and imports
// every package from its sources, with the same aliases as the test suites.
export default defineConfig({
  resolve: {
    alias: {
      "@lifeline/protocol": src("protocol/src/index.ts"),
      "@lifeline/client/core": src("client/src/core.ts"),
      "@lifeline/client": src("client/src/index.ts"),
      "@lifeline/server": src("server/src/index.ts"),
      "@lifeline/testkit": src("testkit/src/index.ts"),
    },
  },
  test: {
    name: "fallback-bench",
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["bench/fallback.run.ts"],
    environment: "node",
    // The run has its own deadline (see fallback.run.ts); this is only the last resort.
    testTimeout: 30 * 60_000,
    hookTimeout: 60_000,
  },
});
