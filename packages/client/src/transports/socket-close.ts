import type { Clock, TimerId } from "../clock.js";
import type { WebSocketLike } from "../env.js";

/**
 * How long, at least, a closed socket that can be terminated waits on a silent peer: twice as
 * long as the server's pings come while a large batch is still going up (every half
 * pingTimeout, 5 s by default; `pingEveryMs` is the welcome's figure), so that a healthy peer
 * busy reading what the socket sent last is not cut off.
 */
const CLOSE_WAIT_MS = 10_000;

/**
 * Closes a WebSocket the client has detached. Node's `ws` waits 30 s for the peer's answer to a
 * close before it lets the socket go, and the socket holds the process open all along: a peer
 * the heartbeat found dead never answers. Such a socket is terminated once what it had to send
 * is out and the peer has said nothing for a while. Browsers and React Native end a socket
 * themselves (theirs have no terminate()); the CDN bundles take socket-close.browser.ts.
 */
export function closeSocket(socket: WebSocketLike | undefined, code: number, clock: Clock, pingEveryMs: number): void {
  try {
    socket?.close(code);
  } catch {
    // Already closing, or never opened (some implementations throw then).
  }
  if (!socket?.terminate) return;
  let timer: TimerId | undefined;
  // Anything the peer sends shows it is alive: the wait starts again.
  const wait = () => {
    clock.clearTimeout(timer);
    timer = clock.setTimeout(() => (socket.bufferedAmount ? wait() : socket.terminate!()), Math.max(CLOSE_WAIT_MS, 2 * pingEveryMs));
  };
  wait();
  socket.onmessage = wait;
  socket.onclose = () => clock.clearTimeout(timer);
}
