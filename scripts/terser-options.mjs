// The minifier settings of the CDN bundles, shared with scripts/size.mjs so that the report
// measures what the build ships. Measured against the plain `passes: 2`: about 30 B gzip less;
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
