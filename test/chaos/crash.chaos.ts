// Many seeded SIGKILLs of the event store, the command service and the projector under load.
import { describe, expect, it } from "vitest";
import { runCrashScenario, seededRandom, type Victim } from "../reliability/crash";
import { recordFigures } from "../reliability/figures";

const SEED = Number(process.env.CHAOS_SEED ?? 20261125);
const FAULTS = 6;

describe("many crashes under load", () => {
  it("lose no acknowledged command and leave the read model equal to a rebuild", async () => {
    const random = seededRandom(SEED);
    const victims: Victim[] = ["eventstore", "command", "projector"];
    const faults = Array.from({ length: FAULTS }, () => victims[Math.floor(random() * victims.length)]!);
    const result = await runCrashScenario({ seed: SEED, faults, workers: 8, products: 5 });
    recordFigures("crash (chaos)", {
      seed: SEED,
      commandsSent: result.commandsSent,
      acknowledged: result.acknowledged,
      failedDuringFaults: result.failed,
      faultsInjected: result.faults.length,
      kills: faults.join(","),
      eventsLost: result.lostAcknowledged,
      readModelDifferences: result.readModelDifferences.length,
    });
    expect(result.unplannedExits).toEqual([]);
    expect(result.faults).toHaveLength(FAULTS);
    expect(result.lostAcknowledged).toBe(0);
    expect(result.unacknowledgedEvents).toBeLessThanOrEqual(result.failed);
    expect(result.readModelDifferences).toEqual([]);
  });
});
