// Bundlers pick this file under the "browser" condition. The server needs Node's http, net
// and crypto, so in a browser it can only explain itself; it throws when used, not when
// imported, so a bundle that merely references it still loads.
const message =
  "@lifeline/server runs only in Node.js (it needs node:http and the ws package). " +
  "In the browser, use @lifeline/client to connect to a Lifeline server.";

export class LifelineServerError extends Error {
  constructor(code, text) {
    super(text);
    this.name = "LifelineServerError";
    this.code = code;
  }
}

export function createServer() {
  throw new LifelineServerError("UNSUPPORTED_ENVIRONMENT", message);
}
