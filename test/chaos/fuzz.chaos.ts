// The fuzz run of every command/query RPC, at 60 inputs per kind per RPC, plus real full-size
// oversized messages.
import { describe, expect, it } from "vitest";
import { recordFigures } from "../reliability/figures";
import { fuzzProductRpcs } from "../reliability/fuzz/product-rpcs";

describe("fuzzing the command and query services (heavy)", () => {
  it("answers every input with an input status and stays healthy", async () => {
    const report = await fuzzProductRpcs({ runsPerKind: 60, seed: Number(process.env.CHAOS_SEED ?? 20261125), fullSizeOversized: true });
    recordFigures("fuzz command+query (chaos)", { rpcs: report.methods.length, inputsTried: report.inputsTried, offenders: report.offenders.length, codes: JSON.stringify(report.codes) });
    expect(report.offenders).toEqual([]);
    expect(report.healthyAfter).toBe(true);
  });
});
