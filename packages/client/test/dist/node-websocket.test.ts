import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The built client in Node with Node's own global WebSocket (undici; Node 20 needs
 * --experimental-websocket for it) and no `WebSocket` option. Needs `npm run build` first;
 * skipped (saying so) without the dist folder.
 */

const entry = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
const built = existsSync(entry);

/** Runs an ES module script in a fresh Node with the global WebSocket, and parses what it prints. */
function runWithGlobalWebSocket(script: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ["--experimental-websocket", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 15_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
    child.stdin?.end();
  });
}

(built ? describe : describe.skip)(built ? "Node's global WebSocket" : "Node's global WebSocket (skipped: no dist; run `npm run build` first)", () => {
  it("fails a refused upgrade at once, with or without a close event after its error", async () => {
    // The upgrade is answered 403. The connectTimeout (60 s) outlasts the child (15 s): only a
    // link ended at the error reports in time. Older undici (Node 20's) sends no close event
    // after the error ("WebSocket failed"); newer undici does ("WebSocket lost").
    const result = await runWithGlobalWebSocket(`
      import { createServer } from "node:http";
      import { connect } from ${JSON.stringify(entry)};
      const server = createServer((req, res) => res.writeHead(404).end());
      server.on("upgrade", (req, socket) => socket.end("HTTP/1.1 403 Forbidden\\r\\ncontent-length: 0\\r\\n\\r\\n"));
      server.listen(0, "127.0.0.1", () => {
        const conn = connect("http://127.0.0.1:" + server.address().port + "/lifeline", { transports: ["websocket"], connectTimeout: 60000, reconnect: false });
        const errors = [];
        conn.on("error", (error) => errors.push({ code: error.code, message: error.message }));
        conn.on("close", ({ code, reason }) => {
          server.close();
          process.stdout.write(JSON.stringify({ global: typeof WebSocket, code, reason, errors }));
        });
      });
    `);
    expect(result).toMatchObject({ global: "function", code: 1006, reason: expect.stringMatching(/WebSocket (failed|lost)/) });
  });
});
