import type { Log } from "./log.js";
import type { ResolvedOptions } from "./options.js";
import type { Registry } from "./registry.js";
import type { Session } from "./session.js";

/** What the transports and the router share: options, sessions, and the server's state. */
export interface ServerContext {
  readonly options: ResolvedOptions;
  readonly log: Log;
  readonly registry: Registry;
  /** True once close() began: new links are refused with 1001 GOING_AWAY. */
  closing(): boolean;
  /** Emits 'connection' for a new session. */
  announce(session: Session): void;
}
