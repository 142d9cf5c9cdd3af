/** Clock and timers are shared with the other side of the wire; see @lifeline/protocol. */
export { systemClock, type Clock, type TimerId } from "@lifeline/protocol";
