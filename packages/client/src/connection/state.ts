/** Public connection states. */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/**
 * The machine's own states: the public ones, with `reconnecting` in its two phases, `backoff`
 * (waiting for the retry) and `retrying` (an attempt under way). The app sees one outage as one
 * `reconnecting`, from the loss until a link opens, however many attempts it takes.
 */
export type MachineState = Exclude<ConnectionState, "reconnecting"> | "backoff" | "retrying";

export const publicState = (state: MachineState): ConnectionState => (state === "backoff" || state === "retrying" ? "reconnecting" : state);

/** What can happen to a connection. The driver turns callbacks and timers into these. */
export type ConnectionEvent =
  /** The server's welcome arrived on a new link. */
  | { readonly type: "welcome" }
  /** The link (or every transport of an attempt) failed; retryDelayMs is null when there is no retry. */
  | { readonly type: "linkLost"; readonly retryDelayMs: number | null }
  /** The retry delay has passed. */
  | { readonly type: "retryDue" }
  /** The network is back, or the app came back to the foreground: retry without waiting. */
  | { readonly type: "wake" }
  /** The app called close(). */
  | { readonly type: "close" };

/** What the driver must do for a transition, in order. */
export type Effect =
  | { readonly type: "openLink" }
  | { readonly type: "closeLink" }
  | { readonly type: "scheduleRetry"; readonly delayMs: number }
  | { readonly type: "cancelRetry" }
  | { readonly type: "announceOpen" }
  | { readonly type: "finish" };

export interface Transition {
  readonly state: MachineState;
  readonly effects: readonly Effect[];
}

const OPEN_LINK: Effect = { type: "openLink" };
const CLOSE_LINK: Effect = { type: "closeLink" };
const CANCEL_RETRY: Effect = { type: "cancelRetry" };
const FINISH: Effect = { type: "finish" };

function lost(delayMs: number | null): Transition {
  return delayMs === null
    ? { state: "closed", effects: [CLOSE_LINK, FINISH] }
    : { state: "backoff", effects: [CLOSE_LINK, { type: "scheduleRetry", delayMs }] };
}

/**
 * The connection's state machine: pure, no I/O, no clock. Returns the next state and the
 * effects to run, or null when the event means nothing in this state (a stale timer, say).
 */
export function transition(state: MachineState, event: ConnectionEvent): Transition | null {
  switch (state) {
    case "connecting":
    case "retrying":
      if (event.type === "welcome") return { state: "open", effects: [{ type: "announceOpen" }] };
      if (event.type === "linkLost") return lost(event.retryDelayMs);
      if (event.type === "close") return { state: "closed", effects: [CLOSE_LINK, FINISH] };
      return null;
    case "open":
      if (event.type === "linkLost") return lost(event.retryDelayMs);
      if (event.type === "close") return { state: "closed", effects: [CLOSE_LINK, FINISH] };
      return null;
    case "backoff":
      if (event.type === "retryDue") return { state: "retrying", effects: [OPEN_LINK] };
      if (event.type === "wake") return { state: "retrying", effects: [CANCEL_RETRY, OPEN_LINK] };
      if (event.type === "close") return { state: "closed", effects: [CANCEL_RETRY, FINISH] };
      return null;
    case "closed":
      return null;
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}
