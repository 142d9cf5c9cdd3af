/**
 * base64-binary.ts for the CDN bundles, which rollup.config.mjs swaps this file in for: they run
 * in browsers only, which all have btoa/atob, so the plain-JS conversion that engines without
 * them need (React Native on JavaScriptCore, which loads the npm build) stays out, 243 B gzip.
 */
export const binaryToBase64 = (binary: string): string => btoa(binary);

/** For canonical base64 only (base64.ts checks). */
export const base64ToBinary = (text: string): string => atob(text);
