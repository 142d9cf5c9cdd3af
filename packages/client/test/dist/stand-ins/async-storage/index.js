// @react-native-async-storage/async-storage in a Map: every method answers with a promise.
export const data = new Map();

export default {
  getAllKeys: async () => [...data.keys()],
  getItem: async (key) => data.get(key) ?? null,
  setItem: async (key, value) => void data.set(key, value),
  removeItem: async (key) => void data.delete(key),
};
