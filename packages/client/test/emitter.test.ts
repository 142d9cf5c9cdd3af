import { afterEach, describe, expect, it, vi } from "vitest";
import { createEmitter } from "../src/emitter.js";
import { LifelineError } from "../src/errors.js";

interface Events {
  message: string;
  close: number;
}

describe("emitter", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("refuses an event it does not have with INVALID_ARGUMENT, naming the ones it has", () => {
    const events = createEmitter<Events>(["message", "close"]);
    expect(() => events.on("mesage" as never, () => {})).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", message: 'unknown event "mesage" (known: message, close)' }));
  });

  it("refuses a listener that is not a function with INVALID_ARGUMENT", () => {
    const events = createEmitter<Events>(["message", "close"]);
    for (const bad of [undefined, null, "handler", {}]) {
      const error = (() => {
        try {
          events.on("message", bad as never);
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(LifelineError);
      expect((error as LifelineError).code).toBe("INVALID_ARGUMENT");
    }
  });

  it("treats every on() as one registration: each removal takes away one", () => {
    const events = createEmitter<Events>(["message", "close"]);
    const seen: string[] = [];
    const listener = (data: string) => seen.push(data);
    const removeFirst = events.on("message", listener);
    const removeSecond = events.on("message", listener);
    events.emit("message", "a");
    expect(seen).toEqual(["a", "a"]);

    removeFirst();
    removeFirst(); // a second call removes nothing more
    events.emit("message", "b");
    expect(seen).toEqual(["a", "a", "b"]);

    removeSecond();
    events.emit("message", "c");
    expect(seen).toEqual(["a", "a", "b"]);

    events.on("message", listener);
    events.on("message", listener);
    events.off("message", listener);
    events.emit("message", "d");
    expect(seen).toEqual(["a", "a", "b", "d"]);
  });

  it("finds nothing under the names of Object's own members", () => {
    const events = createEmitter<Events>(["message", "close"]);
    const seen: string[] = [];
    events.on("message", (data) => seen.push(data));
    for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"]) {
      expect(() => events.off(name as never, () => {}), name).not.toThrow();
      expect(() => events.emit(name as never, "x" as never), name).not.toThrow();
    }
    events.emit("message", "still here");
    expect(seen).toEqual(["still here"]);
  });

  it("keeps events apart and ignores off() of a listener never added", () => {
    const events = createEmitter<Events>(["message", "close"]);
    const codes: number[] = [];
    events.on("close", (code) => codes.push(code));
    events.off("close", () => {});
    events.off("message", () => {});
    events.emit("message", "ignored");
    events.emit("close", 1000);
    expect(codes).toEqual([1000]);
  });

  it("calls the listeners present when an emit starts, even if one removes another", () => {
    const events = createEmitter<Events>(["message", "close"]);
    const calls: string[] = [];
    const second = () => calls.push("second");
    events.on("message", () => {
      calls.push("first");
      events.off("message", second);
      events.on("message", () => calls.push("added"));
    });
    events.on("message", second);
    events.emit("message", "x");
    expect(calls).toEqual(["first", "second"]);
    events.emit("message", "y");
    expect(calls).toEqual(["first", "second", "first", "added"]);
  });

  it("clear() forgets every listener and stops an emit under way before the listeners it has not called", () => {
    const events = createEmitter<Events>(["message", "close"]);
    const calls: string[] = [];
    events.on("message", (data) => {
      calls.push(`first ${data}`);
      events.emit("close", 1000);
      events.clear();
    });
    events.on("message", (data) => calls.push(`second ${data}`));
    events.on("close", (code) => calls.push(`close ${code}`));
    events.emit("message", "x");
    expect(calls).toEqual(["first x", "close 1000"]);
    events.emit("message", "y");
    events.emit("close", 1000);
    expect(calls).toEqual(["first x", "close 1000"]);
    // Registrations after clear() are heard as before.
    events.on("message", (data) => calls.push(`new ${data}`));
    events.emit("message", "z");
    expect(calls).toEqual(["first x", "close 1000", "new z"]);
  });

  it("rethrows a listener's error outside the emit, and still calls the next listener", () => {
    vi.useFakeTimers();
    const events = createEmitter<Events>(["message", "close"]);
    const boom = new Error("listener failed");
    const after = vi.fn();
    events.on("message", () => {
      throw boom;
    });
    events.on("message", after);
    expect(() => events.emit("message", "x")).not.toThrow();
    expect(after).toHaveBeenCalledWith("x");
    expect(() => vi.runAllTimers()).toThrow(boom);
  });
});

describe("emitter removers", () => {
  it("remove their own registration, whatever was added or removed in between", () => {
    const events = createEmitter<Events>(["message", "close"]);
    const calls: string[] = [];
    const f = () => calls.push("f");
    const g = () => calls.push("g");
    const removeFirstF = events.on("message", f);
    events.on("message", g);
    const removeSecondF = events.on("message", f);
    // The first f goes; the order of what is left stays g, f.
    removeFirstF();
    events.emit("message", "x");
    expect(calls).toEqual(["g", "f"]);

    // off() took the latest f; the remover of a registration already gone does nothing more.
    events.off("message", f);
    const removeThirdF = events.on("message", f);
    removeSecondF();
    calls.length = 0;
    events.emit("message", "y");
    expect(calls).toEqual(["g", "f"]);
    removeThirdF();
    calls.length = 0;
    events.emit("message", "z");
    expect(calls).toEqual(["g"]);
  });
});
