// Fuzzing every RPC of the command and query services (light run; npm run test:chaos runs more).
import { describe, expect, it } from "vitest";
import { recordFigures } from "./figures";
import { fuzzProductRpcs } from "./fuzz/product-rpcs";

describe("fuzzing the command and query services", () => {
  it("answers every malformed, wrong, huge or oversized request with an input status and stays healthy", async () => {
    const report = await fuzzProductRpcs({ runsPerKind: 5, seed: 20261125, fullSizeOversized: true });
    recordFigures("fuzz command+query (light)", { rpcs: report.methods.length, inputsTried: report.inputsTried, offenders: report.offenders.length, codes: JSON.stringify(report.codes) });
    expect(report.methods.length).toBeGreaterThanOrEqual(20);
    expect(report.offenders).toEqual([]);
    expect(report.healthyAfter).toBe(true);
  }, 180_000);
});
