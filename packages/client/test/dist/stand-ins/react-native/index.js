// React Native's AppState (the newer shape, whose addEventListener returns a subscription) and
// the component names the examples render.
const listeners = new Set();

export const AppState = {
  currentState: "active",
  addEventListener(type, listener) {
    console.log(`AppState.addEventListener ${type}`);
    listeners.add(listener);
    return {
      remove() {
        console.log(`AppState subscription removed`);
        listeners.delete(listener);
      },
    };
  },
};

export const View = "View";
export const Text = "Text";
export const Button = "Button";
export const FlatList = "FlatList";
