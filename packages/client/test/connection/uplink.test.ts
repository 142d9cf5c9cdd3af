import { describe, expect, it } from "vitest";
import type { Frame } from "@lifeline/protocol";
import { createUplink } from "../../src/connection/uplink.js";
import { createInbox } from "../../src/inbox.js";
import { createOutbox } from "../../src/outbox.js";
import { createManualClock } from "@lifeline/testkit";
import { settle } from "../helpers/fake-transport.js";

function setup(maxBytes = 1000) {
  const clock = createManualClock();
  const outbox = createOutbox(1000, 1_000_000);
  const inbox = createInbox();
  const batches: Frame[][] = [];
  let open = true;
  const uplink = createUplink({ clock, outbox, inbox, target: () => (open ? { send: (f) => void batches.push([...f]) } : undefined), maxBytes: () => maxBytes });
  return { clock, outbox, inbox, batches, uplink, close: () => (open = false) };
}

describe("uplink", () => {
  it("sends everything queued in one tick as one batch: control frames, the ack, then messages", async () => {
    const { outbox, inbox, batches, uplink } = setup();
    inbox.accept(1);
    outbox.push("a", 1);
    uplink.control({ type: "pong", id: 7 });
    outbox.push("b", 1);
    uplink.schedule();
    await settle();
    expect(batches).toEqual([
      [
        { type: "pong", id: 7 },
        { type: "ack", seq: 1 },
        { type: "message", seq: 1, data: "a" },
        { type: "message", seq: 2, data: "b" },
      ],
    ]);
  });

  it("cuts batches at the server's limit, counting each frame's overhead", async () => {
    const { outbox, batches, uplink } = setup(100);
    for (let i = 0; i < 6; i++) outbox.push("x".repeat(18), 18);
    uplink.schedule();
    await settle();
    // 18 + 32 bytes a frame: two fit in 100.
    expect(batches.map((b) => b.length)).toEqual([2, 2, 2]);
  });

  it("holds a lone ack for 20 ms, and sends nothing while there is no link", async () => {
    const { clock, inbox, batches, uplink, close } = setup();
    inbox.accept(1);
    uplink.schedule();
    await settle();
    expect(batches).toEqual([]);
    clock.advance(20);
    expect(batches).toEqual([[{ type: "ack", seq: 1 }]]);
    inbox.accept(2);
    close();
    uplink.schedule();
    await settle();
    clock.advance(20);
    expect(batches).toHaveLength(1);
    uplink.reset();
    expect(clock.pendingTimers).toBe(0);
  });

  it("puts the frames given to flush (the close frame) at the end of its last batch", () => {
    const goodbye: Frame = { type: "close", code: 1000, reason: "bye" };
    const idle = setup();
    idle.inbox.accept(1);
    idle.uplink.flush([goodbye]);
    // A held ack goes along instead of waiting for company.
    expect(idle.batches).toEqual([[{ type: "ack", seq: 1 }, goodbye]]);
    expect(idle.clock.pendingTimers).toBe(0);

    const busy = setup(100);
    for (let i = 0; i < 3; i++) busy.outbox.push("x".repeat(18), 18);
    busy.uplink.flush([goodbye]);
    expect(busy.batches.map((b) => b.map((f) => f.type))).toEqual([["message", "message"], ["message", "close"]]);
  });
});
