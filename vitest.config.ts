import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

// Tests import through the public package names; these aliases point them at the sources.
const alias = {
  "@lifeline/protocol": src("protocol/src/index.ts"),
  "@lifeline/client/core": src("client/src/core.ts"),
  "@lifeline/client": src("client/src/index.ts"),
  "@lifeline/server": src("server/src/index.ts"),
  "@lifeline/testkit": src("testkit/src/index.ts"),
};

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: "node",
          environment: "node",
          include: ["packages/*/test/**/*.test.ts", "playground/test/**/*.test.ts"],
          exclude: ["**/*.dom.test.ts", "**/*.browser.test.ts", "**/node_modules/**"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: "jsdom",
          environment: "jsdom",
          include: ["packages/*/test/**/*.dom.test.ts"],
          testTimeout: 30_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: "browser",
          environment: "node",
          include: ["packages/*/test/**/*.browser.test.ts", "playground/test/**/*.browser.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
