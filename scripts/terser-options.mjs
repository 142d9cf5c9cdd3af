// The minifier settings: terserOptions for the single-transport bundles scripts/size.mjs makes
// from the npm ESM, cdnTerserOptions (below) for the CDN bundles the build ships. Measured against the plain `passes: 2`: about 30 B gzip less;
// `passes: 5` instead of 3 takes about 130 B gzip off the single-transport core bundles and adds
// about 20 B to the full one (more passes change nothing further).
// `unsafe_arrows` is safe here because nothing in the client calls `new` on a function
// expression; `pure_getters` because the only getters (Connection's) have no side effects.
export const terserOptions = {
  ecma: 2020,
  module: true,
  toplevel: true,
  compress: { passes: 5, unsafe_arrows: true, unsafe_methods: true, pure_getters: true },
  format: { comments: false },
};

/**
 * Members of objects the client makes and keeps to itself (inbox, outbox, uplink, heartbeat,
 * emitter, HTTP link, select, state machine, resolved options, fallback, decoded frames,
 * Transport and its handlers, and the core entry's own options). The CDN bundles hold the whole
 * client and expose only the index entry (no frames, no Transport), so these names can be
 * shortened there: about 460 B gzip off the IIFE. Never a public option,
 * event field or error field, a key of a frame's JSON (the codec writes those unquoted), or a
 * member of a platform object the client uses (`builtins` lets DOM-like names such as `end` or
 * `reset` through). A new internal member must be added here to be shortened; a public or
 * platform name here breaks the bundle, which `test/dist/cdn-mangle.test.ts` checks against the
 * published declarations and TypeScript's DOM declarations (so `stop`, `log`, `bytes` and
 * `response` stay long).
 * Not in terserOptions: an app's bundler minifies the npm ESM with its own settings, so the size
 * report's single-transport figures do not count this.
 */
export const INTERNAL_MEMBERS = [
  ...["accept", "lastSeq", "unacked", "takeAck", "reset"], // inbox
  ...["takeUnsent", "rewind", "renumber", "kept", "dropped"], // outbox
  ...["control", "schedule", "flush", "activity", "suspect", "emit", "listener"], // uplink, heartbeat, emitter
  ...["helloBody", "ended", "welcomed", "atMessageEnd", "receive", "end", "download", "pendingLength"], // HTTP link
  ...["endpoint", "connectTimeoutMs", "fallbackDelayMs", "timer", "effects", "delayMs", "retryDelayMs"], // select, state
  ...["factories", "network", "given", "initialDelayMs", "maxDelayMs"], // resolved options
  ...["strikes", "demotions", "demotedUntil", "demotionMs", "demotedForMs", "order", "lost", "recall", "remember", "forget"], // fallback health, memory
  ...["opened", "defer", "demotion", "generation", "linkRequest", "adopt"], // fallback, its host
  ...["seq", "sessionId", "pingIntervalMs", "pingTimeoutMs", "connectionId", "version", "parts", "offset", "position", "channel", "epoch", "resumeWindowMs"], // frames
  ...["onClose", "onFrames", "onOpen", "onAlive", "onProgress", "isSupported", "onCandidateFailed", "fetchStreams", "handlers", "query", "renew", "final", "fromServer", "holdHello"], // Transport, select
  ...["onProbe", "onExpired", "intervalMs", "timeoutMs", "nextDelayMs", "elapsedMs"], // heartbeat, retry policy
  ...["caps", "hello", "clock", "factory", "health", "outbox", "inbox", "foreground", "networkChanged"], // shared by the parts above
  ...["retryPolicy", "networkSources", "transportFactories"], // the core entry's options, which the CDN bundles do not take
  ...["newerHello", "startedAt", "rank", "attempt", "probe", "binary", "payload", "request"], // select, hello and part frames, HTTP link
];

/** The minifier settings of the CDN bundles: terserOptions plus the internal members shortened. */
export const cdnTerserOptions = {
  ...terserOptions,
  // With the members shortened, 3 passes leave a few bytes less than terserOptions' 5.
  compress: { ...terserOptions.compress, passes: 3 },
  mangle: { properties: { regex: new RegExp(`^(${INTERNAL_MEMBERS.join("|")})$`), builtins: true, keep_quoted: true } },
};
