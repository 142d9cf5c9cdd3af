import type { AddressInfo, Server } from "node:net";

/** The only interface the proxies listen on: tests and benchmarks never leave the machine. */
export const LOOPBACK = "127.0.0.1";

/** Listens on 127.0.0.1 with a port the system picks, and resolves with that port. */
export function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOOPBACK, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting and resolves once the port is released; a server already closed is fine. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}
