// The read database goes away for 15 s under ~20 commands/s (PostgreSQL stopped and started again;
// SQLite held locked by another process): the projector waits it out. Nothing is parked, every
// projection verifies equal to a build from $all, every acknowledged command's effect is in the
// read model, and the projector said it was waiting while the database was away.
import { describe, expect, it } from "vitest";
import type { ReadDbProvider } from "../../src/kernel/read/read-db";
import { recordFigures } from "./figures";
import { runReadDbOutageScenario } from "./read-db-outage";

describe.each<ReadDbProvider>(["postgresql", "sqlite"])("a 15 s read-database outage under load (%s)", (provider) => {
  it("is waited out: nothing parked, every projection equal to the events, every acknowledged effect in the read model", async () => {
    const result = await runReadDbOutageScenario({
      provider,
      faults: [{ kind: "outage", atMs: 2_000, durationMs: 15_000 }],
      tailMs: 1_500,
      products: 5,
      commandsPerSecond: 20,
      maxRetries: 2,
    });
    recordFigures(`read-db outage (light, ${provider})`, {
      commandsSent: result.commandsSent,
      acknowledged: result.acknowledged,
      failed: result.failed,
      productsCreated: result.productsCreated,
      outageMs: result.outages[0]?.durationMs ?? 0,
      catchUpMs: result.catchUpMs,
      parked: Object.values(result.parked).reduce((a, b) => a + b, 0),
      verifyDifferences: result.verifyDifferences.length,
      readModelMisses: result.readModelMisses.length,
    });
    expect(result.unplannedExits).toEqual([]);
    expect(result.outages).toHaveLength(1);
    expect(result.outages[0]!.projectorReportedWaiting, "the projector reported 'read database unreachable: waiting' during the outage").toBe(true);
    // Nothing but the read database was disturbed: every command was answered OK.
    expect(result.failed).toBe(0);
    expect(result.acknowledged).toBe(result.commandsSent);
    expect(result.productsCreated).toBeGreaterThan(10);
    expect(result.lostAcknowledged).toBe(0);
    expect(Object.values(result.parked).every((count) => count === 0), JSON.stringify(result.parked)).toBe(true);
    expect(Object.keys(result.parked)).toEqual(expect.arrayContaining(["projection-product", "projection-order-catalog", "projection-inventory-movements"]));
    expect(result.verifyDifferences).toEqual([]);
    expect(result.projectionsVerified).toBeGreaterThanOrEqual(5);
    expect(result.readModelMisses).toEqual([]);
  }, 240_000);
});
