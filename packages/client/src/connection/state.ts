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

/**
 * The connection's state machine: pure, no I/O, no clock. Returns the next state and the
 * effects to run, or null when the event means nothing in this state (a stale timer, say).
 *
 *   connecting, retrying  welcome → open; linkLost → backoff (or closed: no retry); close → closed
 *   open                  linkLost → backoff (or closed: no retry); close → closed
 *   backoff               retryDue, wake → retrying; close → closed
 *   closed                nothing
 */
export function transition(state: MachineState, event: ConnectionEvent): Transition | null {
  const { type } = event;
  if (state === "closed") return null;
  if (state === "backoff") {
    // Waiting for the retry: there is no link to close, only the timer.
    if (type === "close") return { state: "closed", effects: [CANCEL_RETRY, FINISH] };
    if (type === "retryDue") return { state: "retrying", effects: [OPEN_LINK] };
    return type === "wake" ? { state: "retrying", effects: [CANCEL_RETRY, OPEN_LINK] } : null;
  }
  // connecting, retrying or open: a link is up or on its way.
  if (type === "close") return { state: "closed", effects: [CLOSE_LINK, FINISH] };
  if (type === "linkLost") {
    const delayMs = event.retryDelayMs;
    return delayMs === null ? { state: "closed", effects: [CLOSE_LINK, FINISH] } : { state: "backoff", effects: [CLOSE_LINK, { type: "scheduleRetry", delayMs }] };
  }
  return type === "welcome" && state !== "open" ? { state: "open", effects: [{ type: "announceOpen" }] } : null;
}
