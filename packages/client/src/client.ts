import { adaptiveFallback } from "./connection/adaptive.js";
import { createDriver } from "./connection/driver.js";
import type { FallbackFactory } from "./connection/fallback.js";
import { invalidOption, optionWithMethods, resolveOptions } from "./options.js";
import type { CoreOptions } from "./options.js";
import type { TransportFactory } from "./transports/transport.js";
import type { Connection } from "./types.js";
import { parseEndpoint } from "./url.js";

/**
 * Opens a connection with these transports (else `options.transportFactories`) and the adaptive
 * fallback (remembered transport, demotion, upgrade to WebSocket): what the default entry runs.
 * @throws LifelineError INVALID_ARGUMENT for a bad URL or option.
 */
export function connectWith(url: string, options: Partial<CoreOptions>, factories?: readonly TransportFactory[]): Connection {
  return open(url, options, factories, adaptiveFallback);
}

/**
 * Opens a connection with the transports given in `options.transportFactories`, tried in that
 * order on every attempt (the race of select.ts), without the adaptive fallback: what the core
 * entry runs, so that an app with one transport does not carry the machinery for several.
 * @throws LifelineError INVALID_ARGUMENT for a bad URL or option.
 */
export function connectCore(url: string, options: CoreOptions): Connection {
  if (typeof options !== "object" || !options) invalidOption("options", options);
  const factories = options.transportFactories;
  // The app's own list: a hole or something that is not a factory would otherwise surface only
  // after connect(), as "no transport can run here". (Here, not in resolveOptions: the CDN
  // bundles shorten the factories' member names, and they have only the built-in ones.)
  if (!Array.isArray(factories) || !factories.length) invalidOption("transportFactories", factories);
  for (const factory of [...factories]) {
    if (typeof factory?.name !== "string") invalidOption("transportFactories", factory);
    optionWithMethods(factory, "transportFactories", ["isSupported", "open"]);
  }
  return open(url, options);
}

function open(url: string, options: Partial<CoreOptions>, factories?: readonly TransportFactory[], fallback?: FallbackFactory): Connection {
  return createDriver(parseEndpoint(url), resolveOptions(options, factories), fallback);
}
