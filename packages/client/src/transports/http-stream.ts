import { Endpoint } from "@lifeline/protocol";
import { canStreamFetch, createHttpLink, linkLost } from "./http.js";
import type { Transport, TransportFactory } from "./transport.js";

// This entry's value is of this type: exported so that an app's own declarations can name it.
export type { TransportFactory } from "./transport.js";

/**
 * XMLHttpRequest keeps the whole response in responseText, and a healthy stream never ends: past
 * this many characters a stream read that way is renewed (a new stream resumes the session), so
 * memory stays bounded. Only between messages: a line or a message in parts cut off would come
 * back in the replay, as long as before.
 */
const MAX_XHR_STREAM_CHARS = 8 * 1024 * 1024;

/**
 * HTTP streaming: one long-lived response carries every frame from the server; frames to the
 * server go by POST. Works where WebSocket upgrades are blocked but responses can stream. The
 * response is read as it arrives (see request() in http.ts): with a fetch stream reader in
 * browsers and Node, with XMLHttpRequest's progress events where fetch has no response streams
 * (React Native).
 */
export const httpStream: TransportFactory = {
  name: "streaming",
  isSupported: (caps) => canStreamFetch(caps) || !!caps.XMLHttpRequest,
  open(options): Transport {
    const { caps } = options;
    const link = createHttpLink(options);
    // request() reads with XMLHttpRequest exactly where fetch cannot stream.
    const maxChars = canStreamFetch(caps) ? Infinity : MAX_XHR_STREAM_CHARS;
    let seen = 0;
    link.download(
      Endpoint.stream,
      link.helloBody,
      () => link.end(linkLost("stream ended")),
      (text) => {
        link.receive(text);
        seen += text.length;
        if (seen > maxChars && link.atMessageEnd()) link.renew();
      },
    );
    return { name: "streaming", send: link.send, close: link.close };
  },
};
