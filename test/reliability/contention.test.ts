// Concurrent inventory changes on one product from many gRPC clients: nothing lost, nothing doubled.
import { describe, expect, it } from "vitest";
import { runContention } from "./contention";
import { recordFigures } from "./figures";

describe("concurrent increases and decreases on one product (10 + 15 = 35)", () => {
  it("two clients adding 10 and 15 to 10 units end at exactly 35", async () => {
    const result = await runContention({ clients: 2, commandsPerClient: 1, initialInventory: 10n });
    expect(result.otherErrors).toEqual([]);
    expect(result.aborted).toBe(0);
    expect(result.finalInventory).toBe(35n);
    expect(result.recordedDeltas).toEqual([10n, 15n]);
  });

  it("40 commands in flight from 20 clients: final inventory is the sum of the acknowledged deltas, stream contiguous", async () => {
    const result = await runContention({ clients: 20, commandsPerClient: 2, initialInventory: 10_000n });
    recordFigures("contention (light)", { commandsSent: result.commandsSent, succeeded: result.succeeded, aborted: result.aborted, eventsLost: result.acknowledgedDeltas.length - result.recordedDeltas.length });
    expect(result.otherErrors).toEqual([]);
    // The shipped retry budget absorbs this much contention: nobody is turned away.
    expect(result.aborted).toBe(0);
    expect(result.recordedDeltas).toEqual(result.acknowledgedDeltas);
    expect(result.finalInventory).toBe(result.expectedInventory);
    expect(result.revisions).toEqual(result.revisions.map((_, i) => BigInt(i)));
    expect(new Set(result.eventIds).size).toBe(result.eventIds.length);
  }, 60_000);
});
