import { CloseCode, Endpoint } from "@lifeline/protocol";
import type { Capabilities } from "../env.js";
import { linkClose } from "../errors.js";
import { closeForNetworkError, closeForResponse, createHttpLink, linkLost } from "./http.js";
import type { HttpLink } from "./http.js";
import type { Transport, TransportFactory } from "./transport.js";

const canStreamFetch = (caps: Capabilities) => !!(caps.fetch && caps.fetchStreams && caps.TextDecoder);

const streamEnded = () => linkLost("stream ended");

/**
 * XMLHttpRequest keeps the whole response in responseText, and a healthy stream never ends: past
 * this many characters the link is renewed (a new stream resumes the session), so memory stays
 * bounded. Only between messages: a line or a message in parts cut off would come back in the
 * replay, as long as before.
 */
const MAX_XHR_STREAM_CHARS = 8 * 1024 * 1024;

/** Reads the long-lived response with fetch and a stream reader (browsers, Node). */
function streamWithFetch(link: HttpLink, caps: Capabilities): void {
  const controller = new AbortController();
  link.setDownstream(() => controller.abort());
  caps
    .fetch!(link.url(Endpoint.stream), {
      method: "POST",
      body: link.helloBody,
      headers: { "content-type": "text/plain;charset=UTF-8" },
      cache: "no-store",
      signal: controller.signal,
    })
    .then(async (response) => {
      if (response.status !== 200) return link.end(closeForResponse(response.status, await response.text()));
      // Reading text() instead would wait for the end of a stream that never ends.
      if (!response.body) return link.end(linkClose(CloseCode.ABNORMAL, "fetch cannot stream", "TRANSPORT_UNAVAILABLE"));
      const reader = response.body.getReader();
      const decoder = new caps.TextDecoder!();
      for (;;) {
        const { done, value } = await reader.read();
        if (link.ended()) return;
        if (done) return link.end(streamEnded());
        link.receive(decoder.decode(value, { stream: true }));
      }
    })
    .catch((error) => link.end(closeForNetworkError(error)));
}

/**
 * Reads the response as it grows through XHR progress events: React Native's fetch has no
 * response streams, but its XMLHttpRequest reports partial responseText on progress.
 */
function streamWithXhr(link: HttpLink, caps: Capabilities): void {
  const xhr = new caps.XMLHttpRequest!();
  let seen = 0;
  const pump = () => {
    const text = xhr.responseText;
    if (text.length > seen) {
      const chunk = text.slice(seen);
      seen = text.length;
      link.receive(chunk);
    }
    if (seen > MAX_XHR_STREAM_CHARS && link.atMessageEnd()) link.renew();
  };
  link.setDownstream(() => {
    xhr.onprogress = xhr.onreadystatechange = null;
    xhr.abort();
  });
  xhr.open("POST", link.url(Endpoint.stream));
  xhr.setRequestHeader("content-type", "text/plain;charset=UTF-8");
  xhr.onprogress = () => {
    if (xhr.status === 200) pump();
  };
  xhr.onreadystatechange = () => {
    if (xhr.readyState !== 4) return;
    if (xhr.status === 0) return link.end(closeForNetworkError(new Error("XMLHttpRequest failed")));
    if (xhr.status !== 200) return link.end(closeForResponse(xhr.status, xhr.responseText));
    pump();
    if (!link.ended()) link.end(streamEnded());
  };
  xhr.send(link.helloBody);
}

/**
 * HTTP streaming: one long-lived response carries every frame from the server; frames to the
 * server go by POST. Works where WebSocket upgrades are blocked but responses can stream.
 */
export const httpStream: TransportFactory = {
  name: "streaming",
  isSupported: (caps) => canStreamFetch(caps) || !!caps.XMLHttpRequest,
  open(options): Transport {
    const link = createHttpLink(options);
    (canStreamFetch(options.caps) ? streamWithFetch : streamWithXhr)(link, options.caps);
    return { name: "streaming", send: link.send, close: link.close };
  },
};
