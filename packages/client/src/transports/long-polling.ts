import { Endpoint } from "@lifeline/protocol";
import { closeForNetworkError, closeForResponse, createHttpLink, linkLost, request } from "./http.js";
import type { HttpLink } from "./http.js";
import type { Capabilities } from "../env.js";
import type { Transport, TransportFactory } from "./transport.js";

/**
 * Runs one request of the poll loop; on a good answer, feeds its frames and starts the next.
 * The first request (POST with hello) opens the session, the rest are held GETs.
 */
function poll(link: HttpLink, caps: Capabilities, body?: string): void {
  // Read as it arrives: on a slow downlink a large answer may take longer to come down than the
  // heartbeat allows a silent link, and each frame in it is life (and is acknowledged) at once.
  const pending = request(caps, body === undefined ? "GET" : "POST", link.url(Endpoint.poll), body, (text) => link.ended() || link.receive(text));
  link.setDownstream(pending.abort);
  pending.response.then(
    ({ status, text }) => {
      if (link.ended()) return;
      if (status !== 200) return link.end(closeForResponse(status, text));
      link.receive(text + "\n");
      if (link.ended()) return;
      // An answer without the welcome (an empty 200 from something in between) opened nothing.
      if (!link.welcomed()) return link.end(linkLost("no welcome"));
      poll(link, caps);
    },
    (error) => link.end(closeForNetworkError(error)),
  );
}

/**
 * Long polling: one held request at a time, answered by the server as soon as it has frames
 * (or after its ping interval); frames to the server go by POST. Needs nothing but plain,
 * short HTTP requests, so it works behind the most hostile proxies.
 */
export const longPolling: TransportFactory = {
  name: "polling",
  isSupported: (caps) => !!(caps.fetch || caps.XMLHttpRequest),
  open(options): Transport {
    const link = createHttpLink(options);
    poll(link, options.caps, link.helloBody);
    return { name: "polling", send: link.send, close: link.close };
  },
};
