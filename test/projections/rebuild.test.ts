// Blue/green rebuild while commands keep writing and the live projector keeps applying: the
// rebuilt model replaces a damaged live one in one swap, readers never see it half built, and
// afterwards the live model equals a fresh build of the whole history. On SQLite and on the
// local PostgreSQL server (a temporary database per provider, dropped afterwards).
import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catchUp } from "../../src/kernel/read/catch-up";
import { startProjector, type RunningProjector } from "../../src/kernel/read/projector";
import { rebuildProjection } from "../../src/kernel/read/rebuild";
import { inventoryMovementsProjection } from "../../src/report/inventory-movements";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { READ_DB_PROVIDERS } from "../support/read-db";
import { caughtUp, inventoryChanged, inventoryRows, seedProductEvents, silent, tempReadDb, type TempReadDb } from "./support";

const NAME = inventoryMovementsProjection.name;

describe.each(READ_DB_PROVIDERS)("blue/green rebuild on %s", (provider) => {
  let store: StoreUnderTest;
  let live: TempReadDb;
  let fresh: TempReadDb;
  let projector: RunningProjector;

  beforeAll(async () => {
    store = await openStore();
    [live, fresh] = await Promise.all([tempReadDb(provider), tempReadDb(provider)]);
    projector = startProjector({ client: store.client, db: live.db, projections: [inventoryMovementsProjection], logger: silent, maxRetries: 2, retryBaseMs: 10 });
  }, 120_000);

  afterAll(async () => {
    await projector?.stop();
    await live?.close();
    await fresh?.close();
    await store?.close();
  });

  it("ends equal to a fresh build while live writes continue, and readers never see a half-built model", async () => {
    const { ids, last } = await seedProductEvents(store.client, 3_000, 50);
    await caughtUp(live.db, NAME, last);
    // Damage the live model the way a projection bug would: a wrong total and a row that should not exist.
    const [victim] = await inventoryRows(live.db);
    await live.db.inventoryMovementDaily.update({ where: { productId_day: { productId: victim!.productId, day: victim!.day } }, data: { increased: { increment: 1_000_000n } } });
    await live.db.inventoryMovementDaily.create({ data: { productId: "no-such-product", day: "1999-01-01", increased: 1n, decreased: 0n, movements: 1 } });
    const rowsBefore = (await inventoryRows(live.db)).length;

    let writing = true;
    let lastWritten = last;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const id = ids[i % ids.length]!;
        lastWritten = (await store.client.appendToStream(`product-${id}`, [inventoryChanged(id, 2n, 50 + (i % 3))])).position!.commit;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const rowCounts: number[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        rowCounts.push(await live.db.inventoryMovementDaily.count());
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    // With the connection string the build pass reads $all in a worker thread, as the CLI does.
    const result = await rebuildProjection({ client: store.client, connectionString: store.connectionString, liveUrl: live.url, projection: inventoryMovementsProjection, batchSize: 500 });
    writing = false;
    await writer;
    reading = false;
    await reader;

    expect(result.scanned).toBeGreaterThanOrEqual(3_000);
    await caughtUp(live.db, NAME, lastWritten);
    await catchUp({ client: store.client, db: fresh.db, projection: inventoryMovementsProjection, onFailure: "stop" });
    const rebuilt = await inventoryRows(live.db);
    expect(rebuilt).toEqual(await inventoryRows(fresh.db));
    expect(rebuilt.find((row) => row.productId === "no-such-product")).toBeUndefined();
    expect(rebuilt.reduce((sum, row) => sum + row.movements, 0)).toBe(await countProductEvents());
    // Before the swap readers saw the damaged model, after it the rebuilt one: never fewer rows
    // than the real ones (a half-built or emptied table would show fewer).
    expect(rowCounts.length).toBeGreaterThan(0);
    expect(Math.min(...rowCounts)).toBeGreaterThanOrEqual(rowsBefore - 1);
    expect(await leftoverCopies(live)).toEqual([]);
  }, 600_000);

  async function countProductEvents(): Promise<number> {
    let count = 0;
    for await (const resolved of store.client.readAll({ maxCount: 1_000_000 })) {
      if (resolved.event?.streamId.startsWith("product-")) count++;
    }
    return count;
  }
});

/** Rebuild copies left beside the live model: files next to a SQLite database, schemas in a PostgreSQL one. */
async function leftoverCopies(live: TempReadDb): Promise<string[]> {
  if (live.url.startsWith("file:")) {
    const dir = live.url.slice("file:".length).replace(/\/read\.db$/, "");
    return (await readdir(dir)).filter((file) => file.includes(".rebuild-"));
  }
  const schemas = await live.db.$queryRawUnsafe<{ name: string }[]>("SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name LIKE 'rebuild_%'");
  return schemas.map((s) => s.name);
}
