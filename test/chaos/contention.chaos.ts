// 1,000 concurrent conflicting commands on one product from 50 gRPC clients over two command
// services: every acknowledged delta is in the stream exactly once, nothing else is, and the
// final inventory is their sum. Commands turned away ABORTED (retry budget spent) left no event.
import { describe, expect, it } from "vitest";
import { runContention } from "../reliability/contention";
import { recordFigures } from "../reliability/figures";

describe("1,000 concurrent conflicting commands", () => {
  it("lose no update and leave no trace of the refused ones", async () => {
    const result = await runContention({ clients: 50, commandsPerClient: 20, initialInventory: 10_000_000n });
    recordFigures("contention (chaos)", {
      commandsSent: result.commandsSent,
      succeeded: result.succeeded,
      aborted: result.aborted,
      otherErrors: result.otherErrors.length,
      eventsLost: result.acknowledgedDeltas.filter((d) => !result.recordedDeltas.includes(d)).length,
    });
    expect(result.commandsSent).toBe(1_000);
    expect(result.otherErrors).toEqual([]);
    expect(result.succeeded + result.aborted).toBe(1_000);
    expect(result.recordedDeltas).toEqual(result.acknowledgedDeltas);
    expect(result.finalInventory).toBe(result.expectedInventory);
    expect(result.revisions).toEqual(result.revisions.map((_, i) => BigInt(i)));
    expect(new Set(result.eventIds).size).toBe(result.eventIds.length);
  });
});
