// JSX as plain data: { type, props } trees a test can search.
export const jsx = (type, props) => ({ type, props });
export const jsxs = jsx;
export const Fragment = "Fragment";
