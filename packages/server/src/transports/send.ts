import type { ServerResponse } from "node:http";
import { CloseCode } from "@lifeline/protocol";
import type { Frame } from "@lifeline/protocol";
import type { ServerContext } from "../context.js";
import { refusal, refuse } from "../http.js";

/**
 * `POST P/send?sid=S`, the upstream of both HTTP transports: the body's frames go to the
 * session, the answer is 204, or a refusal when the frames broke the rules (the session has
 * closed with that code by then).
 */
export function createSendHandler(ctx: ServerContext) {
  return (res: ServerResponse, sid: string, frames: readonly Frame[]): void => {
    const session = ctx.registry.get(sid);
    if (!session) return refuse(res, refusal(CloseCode.SESSION_NOT_FOUND, "unknown session"));
    const refused = session.receive(frames);
    if (refused) return refuse(res, refusal(refused.code, refused.reason));
    res.writeHead(204);
    res.end();
  };
}
