// A read model added as code after 10,000 events builds itself by catch-up (batched, with its
// bulk applyBatch) and ends equal to the same read model kept up to date from the start, event
// by event through apply(); afterwards both follow live writes through their subscription
// groups with no gap and no duplicate.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catchUp } from "../../src/kernel/read/catch-up";
import { startProjector, type RunningProjector } from "../../src/kernel/read/projector";
import type { Projection } from "../../src/kernel/read/projector-checkpoint";
import { inventoryMovementsProjection } from "../../src/report/inventory-movements";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { caughtUp, inventoryChanged, inventoryRows, productCreated, silent, tempReadDb, type TempReadDb } from "./support";
import { randomUUID } from "node:crypto";

let store: StoreUnderTest;
let fromStart: TempReadDb;
let addedLater: TempReadDb;
const running: RunningProjector[] = [];
// The reference applies event by event (no bulk path), each time right after the write.
// Its own name: its own checkpoint and subscription group on the shared store.
const eventByEvent: Projection = { ...inventoryMovementsProjection, name: "inventory-movements-reference", applyBatch: undefined };

function goLive(db: TempReadDb, projection: Projection) {
  const projector = startProjector({ client: store.client, db: db.db, projections: [projection], logger: silent, maxRetries: 2, retryBaseMs: 10 });
  running.push(projector);
}

beforeAll(async () => {
  store = await openStore();
  [fromStart, addedLater] = await Promise.all([tempReadDb(), tempReadDb()]);
});

afterAll(async () => {
  for (const projector of running) await projector.stop();
  await fromStart?.close();
  await addedLater?.close();
  await store?.close();
});

describe("catch-up build of a read model added later", () => {
  it("equals the read model that ran from the start, then continues live without gap or duplicate", async () => {
    const ids = Array.from({ length: 100 }, () => randomUUID());
    let last = 0n;
    for (const [index, id] of ids.entries()) {
      const events = [productCreated(id, 1_000n, index % 7)];
      for (let i = 1; i < 100; i++) events.push(inventoryChanged(id, i % 3 === 0 ? -BigInt((i % 5) + 1) : BigInt((i % 11) + 1), (index + i) % 30));
      last = (await store.client.appendToStream(`product-${id}`, events)).position!.commit;
      // Other streams' events sit between them in $all and must be skipped.
      await store.client.appendToStream(`other-${id}`, [inventoryChanged(id, 5n, 1)]);
      await catchUp({ client: store.client, db: fromStart.db, projection: eventByEvent, onFailure: "stop" });
    }
    expect(await fromStart.db.projectionCheckpoint.findUnique({ where: { name: eventByEvent.name } })).toMatchObject({ commitPosition: last });

    // The new read model appears after 10,000 product events: no checkpoint, no subscription group.
    goLive(addedLater, inventoryMovementsProjection);
    goLive(fromStart, eventByEvent);
    await caughtUp(addedLater.db, inventoryMovementsProjection.name, last);
    const built = await inventoryRows(addedLater.db);
    expect(built).toEqual(await inventoryRows(fromStart.db));
    expect(built.reduce((sum, row) => sum + row.movements, 0)).toBe(10_000);

    // Live writes after the build reach both models exactly once.
    let lastLive = last;
    for (const [i, id] of ids.slice(0, 20).entries()) {
      lastLive = (await store.client.appendToStream(`product-${id}`, [inventoryChanged(id, BigInt(i + 1), 40), inventoryChanged(id, -1n, 40)])).position!.commit;
    }
    await caughtUp(fromStart.db, eventByEvent.name, lastLive);
    await caughtUp(addedLater.db, inventoryMovementsProjection.name, lastLive);
    const later = await inventoryRows(addedLater.db);
    expect(later).toEqual(await inventoryRows(fromStart.db));
    const day40 = later.filter((row) => row.day === "2026-02-10");
    expect(day40).toHaveLength(20);
    expect(day40.every((row) => row.movements === 2 && row.decreased === 1n)).toBe(true);
    expect(day40.reduce((sum, row) => sum + row.increased, 0n)).toBe(BigInt((20 * 21) / 2));
  }, 600_000);
});
