// `npm run projections -- rebuild NAME` against a PostgreSQL READ_DATABASE_URL: the operator
// command rebuilds a damaged read model in a temporary database on the local server and
// leaves it equal to a fresh build, with no rebuild schema behind.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catchUp } from "../../src/kernel/read/catch-up";
import { inventoryMovementsProjection } from "../../src/report/inventory-movements";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { inventoryRows, seedProductEvents, tempReadDb, type TempReadDb } from "./support";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const projection = inventoryMovementsProjection;
let store: StoreUnderTest;
let live: TempReadDb;
let fresh: TempReadDb;

beforeAll(async () => {
  store = await openStore();
  [live, fresh] = await Promise.all([tempReadDb("postgresql"), tempReadDb("postgresql")]);
}, 120_000);

afterAll(async () => {
  await live?.close();
  await fresh?.close();
  await store?.close();
});

describe("npm run projections -- rebuild on PostgreSQL", () => {
  it("replaces a damaged read model with a fresh build of the history", async () => {
    await seedProductEvents(store.client, 1_200, 20);
    // The rebuild reads all of $all: the 1,200 events plus the store's own system events, as against a real node.
    let eventsInAll = 0;
    for await (const _ of store.client.readAll()) eventsInAll++;
    expect(eventsInAll).toBeGreaterThan(1200);
    await catchUp({ client: store.client, db: live.db, projection, onFailure: "stop" });
    await live.db.inventoryMovementDaily.create({ data: { productId: "no-such-product", day: "1999-01-01", increased: 1n, decreased: 0n, movements: 1 } });
    await live.db.inventoryMovementDaily.deleteMany({ where: { day: { lt: "2026-01-03" } } });

    const { stdout } = await promisify(execFile)(path.join(repoRoot, "node_modules", ".bin", "tsx"), ["scripts/projections.ts", "rebuild", projection.name], {
      cwd: repoRoot,
      env: { ...process.env, READ_DATABASE_URL: live.url, EVENTSTORE_CONNECTION_STRING: store.connectionString },
    });
    expect(stdout).toMatch(new RegExp(`^rebuilt inventory-movements: ${eventsInAll} events read, 1200 applied`, "m"));

    await catchUp({ client: store.client, db: fresh.db, projection, onFailure: "stop" });
    expect(await inventoryRows(live.db)).toEqual(await inventoryRows(fresh.db));
    const schemas = await live.db.$queryRawUnsafe<unknown[]>("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'rebuild_%'");
    expect(schemas).toEqual([]);
  }, 300_000);
});
