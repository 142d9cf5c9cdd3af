import type { ServerResponse } from "node:http";
import { CloseCode } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import type { ServerContext } from "../context.js";
import { refusal, refuse } from "../http.js";

function noContent(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}

/**
 * `POST P/send?sid=S`, the upstream of both HTTP transports: the body's frames go to the
 * session, the answer is 204, or a refusal when the frames broke the rules (the session has
 * closed with that code by then).
 */
export function createSendHandler(ctx: ServerContext) {
  return (res: ServerResponse, sid: string, frames: readonly Frame[]): void => {
    const session = ctx.registry.get(sid);
    if (!session) {
      // Ended while its last frames were still on their way down (a long stream, or polls handing
      // out a large backlog): the client's acks meanwhile get 204 and are dropped. A 404 would
      // read as a lost link, and the client would reconnect without ever seeing the close frame.
      if (ctx.registry.endedRecently(sid)) return noContent(res);
      return refuse(res, refusal(CloseCode.SESSION_NOT_FOUND, "unknown session"));
    }
    if (session.check(frames)) {
      // The frames before the offending one are still delivered, then the session closes.
      const refused = session.receive(frames);
      if (refused) return refuse(res, refusal(refused.code, refused.reason));
      return noContent(res);
    }
    noContent(res);
    // Clients keep one send in flight (a ping may go beside it), so the 204 goes first: the
    // client's next batch then travels while the application handles this one. Node writes the
    // 204 on a nextTick (it corks the socket), and this tick comes after that one, before any
    // other I/O.
    process.nextTick(() => session.receive(frames));
  };
}
