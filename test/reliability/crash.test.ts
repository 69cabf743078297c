// One SIGKILL of each kind (event store, command service, projector) under a sustained command
// load: no acknowledged command is lost and the read model equals a fresh rebuild.
import { describe, expect, it } from "vitest";
import { runCrashScenario } from "./crash";
import { recordFigures } from "./figures";

describe("crashes under load", () => {
  it("lose no acknowledged command and leave the read model equal to a rebuild", async () => {
    const result = await runCrashScenario({ seed: 9, faults: ["eventstore", "projector", "command"], workers: 2, products: 3 });
    recordFigures("crash (light)", {
      seed: 9,
      commandsSent: result.commandsSent,
      acknowledged: result.acknowledged,
      failedDuringFaults: result.failed,
      faultsInjected: result.faults.length,
      eventsLost: result.lostAcknowledged,
      readModelDifferences: result.readModelDifferences.length,
    });
    expect(result.unplannedExits).toEqual([]);
    expect(result.faults.map((f) => f.victim)).toEqual(["eventstore", "projector", "command"]);
    expect(result.acknowledged).toBeGreaterThan(0);
    expect(result.lostAcknowledged).toBe(0);
    expect(result.unacknowledgedEvents).toBeLessThanOrEqual(result.failed);
    expect(result.productsCompared).toBe(3);
    expect(result.readModelDifferences).toEqual([]);
  }, 240_000);
});
