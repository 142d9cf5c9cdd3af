export * from "./frames.js";
export { encodeFrame, decodeFrame, encodeClientFrame, decodeServerFrame, FrameError, type ClientFrame, type ServerFrame } from "./codec.js";
export { encodeBatch, decodeBatch, encodeClientBatch, decodeServerBatch, createLineSplitter, type LineSplitter } from "./batch.js";
export { CloseCode, isRetryable, closeCodeName, HttpStatusForClose, type CloseCodeName, type CloseCodeValue } from "./close-codes.js";
export * from "./limits.js";
export { bytesToBase64, base64ToBytes } from "./base64.js";
export { payloadBytes } from "./size.js";
export { systemClock, type Clock, type TimerId } from "./clock.js";
export { MESSAGE_PART_CHARS, encodeMessageBatch } from "./parts.js";
