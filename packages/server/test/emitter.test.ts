import { describe, expect, it } from "vitest";
import { createEmitter } from "../src/emitter.js";

describe("server emitter", () => {
  it("counts every on() as one registration: its remover and off() each take away one", () => {
    const emitter = createEmitter<{ ping: number }>();
    const calls: string[] = [];
    const twice = (n: number) => calls.push(`twice ${n}`);
    const other = (n: number) => calls.push(`other ${n}`);
    const removeFirst = emitter.on("ping", twice);
    emitter.on("ping", other);
    emitter.on("ping", twice);
    emitter.emit("ping", 1);
    expect(calls).toEqual(["twice 1", "other 1", "twice 1"]);

    // The first registration goes; the second, after `other`, stays where it was.
    removeFirst();
    removeFirst();
    emitter.emit("ping", 2);
    expect(calls.slice(3)).toEqual(["other 2", "twice 2"]);

    emitter.on("ping", twice);
    // off() takes the latest registration of the function, one at a time.
    emitter.off("ping", twice);
    emitter.emit("ping", 3);
    expect(calls.slice(5)).toEqual(["other 3", "twice 3"]);
    emitter.off("ping", twice);
    emitter.off("ping", twice);
    emitter.emit("ping", 4);
    expect(calls.slice(7)).toEqual(["other 4"]);
  });

  it("lets a listener remove itself while the event runs, without skipping the next one", () => {
    const emitter = createEmitter<{ ping: number }>();
    const calls: string[] = [];
    const remove = emitter.on("ping", () => {
      calls.push("first");
      remove();
    });
    emitter.on("ping", () => calls.push("second"));
    emitter.emit("ping", 1);
    emitter.emit("ping", 2);
    expect(calls).toEqual(["first", "second", "second"]);
  });
});
