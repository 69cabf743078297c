// Read-database outages at seeded moments beside seeded SIGKILLs of the event store, the command
// service and the projector, under ~20 commands/s for about a minute and a half, on PostgreSQL
// (stopped and started) and SQLite (held locked by another process).
import { describe, expect, it } from "vitest";
import type { ReadDbProvider } from "../../src/kernel/read/read-db";
import { seededRandom, type Victim } from "../reliability/crash";
import { recordFigures } from "../reliability/figures";
import { runReadDbOutageScenario, type Fault } from "../reliability/read-db-outage";

const SEED = Number(process.env.CHAOS_SEED ?? 20261204);
const LOAD_MS = 80_000;
const OUTAGES = 3;
const KILLS = 4;

/** Outages of 5–15 s and kills, each at a seeded moment within the load. */
function schedule(seed: number): Fault[] {
  const random = seededRandom(seed);
  const victims: Victim[] = ["eventstore", "command", "projector"];
  const faults: Fault[] = [];
  for (let i = 0; i < OUTAGES; i++) faults.push({ kind: "outage", atMs: 2_000 + Math.floor(random() * (LOAD_MS - 20_000)), durationMs: 5_000 + Math.floor(random() * 10_000) });
  for (let i = 0; i < KILLS; i++) faults.push({ kind: "kill", atMs: 2_000 + Math.floor(random() * (LOAD_MS - 10_000)), victim: victims[Math.floor(random() * victims.length)]! });
  return faults;
}

describe.each<ReadDbProvider>(["postgresql", "sqlite"])("read-database outages beside SIGKILLs under load (%s)", (provider) => {
  it("are waited out: nothing parked, every projection equal to the events, no acknowledged effect missing", async () => {
    const seed = SEED + (provider === "sqlite" ? 1 : 0);
    const faults = schedule(seed);
    const result = await runReadDbOutageScenario({ provider, faults, tailMs: 3_000, products: 5, commandsPerSecond: 20, maxRetries: 2 });
    recordFigures(`read-db outage (chaos, ${provider})`, {
      seed,
      commandsSent: result.commandsSent,
      acknowledged: result.acknowledged,
      failedDuringFaults: result.failed,
      productsCreated: result.productsCreated,
      outages: result.outages.map((o) => `${o.durationMs}ms@${o.atMs}`).join(","),
      outagesWithWaitingReported: result.outages.filter((o) => o.projectorReportedWaiting).length,
      kills: result.kills.map((k) => `${k.victim}@${k.atMs}`).join(","),
      catchUpMs: result.catchUpMs,
      eventsLost: result.lostAcknowledged,
      parked: Object.values(result.parked).reduce((a, b) => a + b, 0),
      verifyDifferences: result.verifyDifferences.length,
      readModelMisses: result.readModelMisses.length,
    });
    expect(result.unplannedExits).toEqual([]);
    expect(result.outages).toHaveLength(OUTAGES);
    expect(result.kills).toHaveLength(KILLS);
    // A projector killed during an outage may not have met the database yet; most outages it does.
    expect(result.outages.some((o) => o.projectorReportedWaiting)).toBe(true);
    expect(result.lostAcknowledged).toBe(0);
    expect(Object.values(result.parked).every((count) => count === 0), JSON.stringify(result.parked)).toBe(true);
    expect(result.verifyDifferences).toEqual([]);
    expect(result.readModelMisses).toEqual([]);
  });
});
