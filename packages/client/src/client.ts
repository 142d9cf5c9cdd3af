import { createDriver } from "./connection/driver.js";
import { createEmitter } from "./emitter.js";
import { resolveOptions } from "./options.js";
import type { CoreOptions } from "./options.js";
import type { Connection, ConnectionEvents } from "./types.js";
import { parseEndpoint } from "./url.js";

/**
 * Opens a connection with the transports given in `options.transportFactories`. Most apps use
 * `connect` from the default entry, which includes all three transports.
 * @throws LifelineError INVALID_ARGUMENT for a bad URL or option.
 */
export function connectWith(url: string, options: CoreOptions): Connection {
  const endpoint = parseEndpoint(url);
  const resolved = resolveOptions(options);
  const events = createEmitter<ConnectionEvents>();
  const driver = createDriver(endpoint, resolved, events);
  return {
    get state() {
      return driver.state;
    },
    get transport() {
      return driver.transport;
    },
    get id() {
      return driver.id;
    },
    get rtt() {
      return driver.rtt;
    },
    get bufferedMessages() {
      return driver.bufferedMessages;
    },
    send: (data) => driver.send(data as never),
    close: () => driver.close(),
    on: events.on,
    off: events.off,
  };
}
