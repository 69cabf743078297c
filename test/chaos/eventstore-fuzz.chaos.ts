import { describe, expect, it } from "vitest";
import { recordFigures } from "../reliability/figures";
import { fuzzEventStore } from "../reliability/fuzz/eventstore-rpcs";

describe("fuzzing the embedded event store (heavy)", () => {
  it("answers malformed frames INVALID_ARGUMENT, an oversized append RESOURCE_EXHAUSTED, and keeps serving", async () => {
    const report = await fuzzEventStore({ runsPerPath: 200, seed: Number(process.env.CHAOS_SEED ?? 20261125) });
    recordFigures("fuzz eventstore (chaos)", { rpcs: report.paths.length, inputsTried: report.inputsTried, offenders: report.offenders.length });
    expect(report.offenders).toEqual([]);
    expect(report.servesAfter).toBe(true);
  });
});
