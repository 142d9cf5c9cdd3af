// React's hooks for one component at a time: enough to mount it, re-render it when its state
// changes, and unmount it. Effects run once, after the first render (the examples' dependencies
// never change while mounted).
let component;
let props;
let slots = [];
let slot = 0;
let pendingEffects = [];
let cleanups = [];
let tree;

/** What render() last returned, and a hook for each state change (the driver's). */
export const mounted = { onRender: () => {} };

export function useState(initial) {
  const at = slot++;
  if (!(at in slots)) slots[at] = initial;
  const set = (next) => {
    slots[at] = typeof next === "function" ? next(slots[at]) : next;
    rerender();
  };
  return [slots[at], set];
}

export function useRef(initial) {
  const at = slot++;
  if (!(at in slots)) slots[at] = { current: initial };
  return slots[at];
}

export function useEffect(effect) {
  if (!cleanups.length) pendingEffects.push(effect);
}

function rerender() {
  slot = 0;
  tree = component(props);
  for (const effect of pendingEffects.splice(0)) cleanups.push(effect() ?? (() => {}));
  mounted.onRender(tree);
}

/** Mounts `Component` with `componentProps`; returns its first tree. */
export function render(Component, componentProps) {
  component = Component;
  props = componentProps;
  slots = [];
  rerender();
  return tree;
}

/** Runs the effects' cleanups, as React does when the component goes. */
export function unmount() {
  for (const cleanup of cleanups.splice(0)) cleanup();
  mounted.onRender = () => {};
}
