import { Endpoint } from "@lifeline/protocol";
import { createHttpLink, linkLost } from "./http.js";
import type { HttpLink } from "./http.js";
import type { Transport, TransportFactory } from "./transport.js";

// This entry's value is of this type: exported so that an app's own declarations can name it.
export type { TransportFactory } from "./transport.js";

/**
 * Runs one request of the poll loop; on a good answer, feeds its frames and starts the next.
 * The first request (POST with hello) opens the session, the rest are held GETs. An answer is
 * read as it arrives: on a slow downlink a large one may take longer to come down than the
 * heartbeat allows a silent link, and each frame in it is life (and is acknowledged) at once.
 */
function poll(link: HttpLink, body?: string): void {
  link.download(Endpoint.poll, body, () => {
    // An answer's last line ends with the answer, not with a newline.
    link.receive("\n");
    if (link.ended()) return;
    // An answer without the welcome (an empty 200 from something in between) opened nothing.
    if (!link.welcomed()) return link.end(linkLost("no welcome"));
    poll(link);
  });
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
    poll(link, link.helloBody);
    return { name: "polling", send: link.send, close: link.close };
  },
};
