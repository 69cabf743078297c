// The order read models can be rebuilt blue/green (npm run projections -- rebuild order): their
// declared tables are rebuilt from the store and swapped in, lines with their orders.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { rebuildProjection } from "../../src/kernel/read/rebuild";
import { AggregateRepository } from "../../src/kernel/write/repository";
import { orderAggregate } from "../../src/order/decider";
import { orderProjection } from "../../src/order/projection";
import { orderCatalogProjection } from "../../src/order/projection-catalog";
import { productAggregate } from "../../src/product/decider";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";

const metadata = { correlationId: "rebuild-test", causationId: "rebuild-test" };
const now = new Date("2026-06-01T00:00:00Z");
let store: StoreUnderTest;
let database: TestReadDb;
let db: ReadDb;

beforeAll(async () => {
  store = await openStore();
  database = await createMigratedReadDb("sqlite");
  db = await openReadDb(database.url);
  const options = { snapshotEvery: 0, maxConflictRetries: 5, logger: pino({ level: "silent" }) };
  const orders = new AggregateRepository(store.client, orderAggregate, options);
  const products = new AggregateRepository(store.client, productAggregate, options);
  const productId = randomUUID();
  await products.handle(productId, { type: "CreateProduct", productId, name: "Lamp", price: 100n, inventory: 9n, imagePath: "", description: "", now }, { metadata });
  for (const confirm of [true, false]) {
    const orderId = randomUUID();
    const lines = [1n, 2n].map((quantity) => ({ productId, productName: "Lamp", unitPrice: 100n, quantity }));
    const delivery = { address: "1 Main St", phone: "010-1234-5678", message: "" };
    await orders.handle(orderId, { type: "PlaceOrder", orderId, memberId: "m-1", lines, delivery, now }, { metadata });
    if (confirm) await orders.handle(orderId, { type: "ConfirmOrder", orderId, now }, { metadata });
  }
});

afterAll(async () => {
  await db?.$disconnect();
  await store?.close();
  await database?.drop();
});

describe("rebuilding the order read models", () => {
  it("rebuilds orders with their lines, and again over an existing model", async () => {
    for (let pass = 0; pass < 2; pass++) {
      const result = await rebuildProjection({ client: store.client, liveUrl: database.url, projection: orderProjection });
      expect(result.rows).toEqual({ order: 2, order_line: 4 });
    }
    expect((await db.order.findMany({ orderBy: { status: "asc" } })).map((o) => o.status)).toEqual(["confirmed", "placed"]);
    expect(await db.orderLine.count()).toBe(4);
  });

  it("rebuilds the order catalog", async () => {
    const result = await rebuildProjection({ client: store.client, liveUrl: database.url, projection: orderCatalogProjection });
    expect(result.rows).toEqual({ order_catalog_product: 1 });
    expect(await db.orderCatalogProduct.findFirst()).toMatchObject({ name: "Lamp", inventory: 9n });
  });
});
