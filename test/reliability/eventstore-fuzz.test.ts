// Raw malformed frames to every Streams and PersistentSubscriptions method of the embedded store.
import { describe, expect, it } from "vitest";
import { recordFigures } from "./figures";
import { fuzzEventStore } from "./fuzz/eventstore-rpcs";

describe("fuzzing the embedded event store", () => {
  it("answers malformed frames INVALID_ARGUMENT, an oversized append RESOURCE_EXHAUSTED, and keeps serving", async () => {
    const report = await fuzzEventStore({ runsPerPath: 10, seed: 20261125 });
    recordFigures("fuzz eventstore (light)", { rpcs: report.paths.length, inputsTried: report.inputsTried, offenders: report.offenders.length });
    expect(report.paths.length).toBeGreaterThanOrEqual(13);
    expect(report.offenders).toEqual([]);
    expect(report.servesAfter).toBe(true);
  }, 120_000);
});
