// Workload 6: client bundle sizes, minified and then compressed the way CDNs serve them.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("..", import.meta.url));

function measure(file) {
  const source = readFileSync(file);
  return {
    file: file.startsWith(root) ? file.slice(root.length) : file,
    minBytes: source.length,
    gzipBytes: gzipSync(source, { level: 9 }).length,
    brotliBytes: brotliCompressSync(source, {
      params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: source.length },
    }).length,
  };
}

/** The full browser bundles: Lifeline's CDN build and socket.io-client's, both IIFE globals. */
export function bundleSizes() {
  const require = createRequire(import.meta.url);
  const lifeline = join(root, "packages/client/dist/lifeline.min.js");
  const socketIo = join(dirname(require.resolve("socket.io-client/package.json")), "dist/socket.io.min.js");
  return {
    lifeline: existsSync(lifeline) ? measure(lifeline) : null,
    socketio: existsSync(socketIo) ? measure(socketIo) : null,
  };
}
