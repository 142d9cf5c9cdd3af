import { Endpoint } from "@lifeline/protocol";
import type { Capabilities } from "../env.js";
import { closeForNetworkError, closeForResponse, createHttpLink, linkLost, request } from "./http.js";
import type { Transport, TransportFactory } from "./transport.js";

const canStreamFetch = (caps: Capabilities) => !!(caps.fetch && caps.fetchStreams && caps.TextDecoder);

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
 * response is read as it arrives (see request()): with a fetch stream reader in browsers and
 * Node, with XMLHttpRequest's progress events where fetch has no response streams (React Native).
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
    const pending = request(caps, "POST", link.url(Endpoint.stream), link.helloBody, (text) => {
      if (link.ended()) return;
      link.receive(text);
      seen += text.length;
      if (seen > maxChars && link.atMessageEnd()) link.renew();
    });
    link.setDownstream(pending.abort);
    pending.response.then(
      ({ status, text }) => {
        if (link.ended()) return;
        if (status !== 200) return link.end(closeForResponse(status, text));
        link.receive(text);
        if (!link.ended()) link.end(linkLost("stream ended"));
      },
      (error) => link.end(closeForNetworkError(error)),
    );
    return { name: "streaming", send: link.send, close: link.close };
  },
};
