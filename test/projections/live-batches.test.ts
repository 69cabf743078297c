// The live projector applies the deliveries it already holds in one transaction: a burst of
// events ends in the same read model as one-by-one application, and a poison event inside a
// burst is still retried, parked and skipped on its own while the rest of the burst is applied.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryIncreasedSchema, ProductCreatedSchema } from "../../gen/eventmall/product/v1/events_pb";
import { EventCodec } from "../../src/kernel/write/event-codec";
import { startProjector, type Projection, type ProjectionObserver, type RunningProjector } from "../../src/kernel/read/projector";
import { readCheckpoint, type ProjectedEvent } from "../../src/kernel/read/projector-checkpoint";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { productProjection } from "../../src/product/projection";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";

const POISON_QUANTITY = 13n;
const codec = new EventCodec([ProductCreatedSchema, InventoryIncreasedSchema]);
const metadata = { correlationId: "batch-test", causationId: "batch-test" };

let store: StoreUnderTest;
let readDb: TestReadDb;
let db: ReadDb;
let projector: RunningProjector | undefined;
const appliedRuns: number[] = [];
let parked = 0;
let poisonAttempts = 0;

const observer: ProjectionObserver = {
  state: () => undefined,
  applied: (_projection, count) => void appliedRuns.push(count),
  retried: () => undefined,
  parked: () => void parked++,
};

const isPoison = (event: ProjectedEvent) =>
  event.type === InventoryIncreasedSchema.typeName && (event.data as { quantity?: string }).quantity === String(POISON_QUANTITY);

// The shipped product projection (its batched path too), except that it cannot apply an increase
// of 13 units. poisonAttempts counts the poison event's own applications, not batched runs that
// failed because of it.
const projection: Projection = {
  ...productProjection,
  async apply(tx, event) {
    if (isPoison(event)) {
      poisonAttempts++;
      throw new Error("cannot apply an increase of 13");
    }
    await productProjection.apply(tx, event);
  },
  async applyBatch(tx, events) {
    if (events.some(isPoison)) throw new Error("cannot apply an increase of 13");
    await productProjection.applyBatch!(tx, events);
  },
};

async function appendProduct(productId: string, increases: bigint[]): Promise<bigint> {
  const created = codec.encode(
    ProductCreatedSchema,
    create(ProductCreatedSchema, { productId, name: "Kettle", price: 2500n, inventory: 1n, imagePath: "", description: "", createdAt: timestampFromDate(new Date()) }),
    metadata,
  );
  const increased = increases.map((quantity) =>
    codec.encode(InventoryIncreasedSchema, create(InventoryIncreasedSchema, { productId, quantity, changedAt: timestampFromDate(new Date()) }), metadata),
  );
  const result = await store.client.appendToStream(`product-${productId}`, [created, ...increased]);
  return result.position!.commit;
}

async function inventoryOnceApplied(productId: string, expectedRevision: bigint): Promise<bigint> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const row = await db.product.findUnique({ where: { id: productId } });
    if (row && row.revision === expectedRevision) return row.inventory;
    if (Date.now() > deadline) throw new Error(`product ${productId} did not reach revision ${expectedRevision}: ${JSON.stringify(row, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  store = await openStore();
  readDb = await createMigratedReadDb("sqlite");
  db = await openReadDb(readDb.url);
}, 60_000);

afterAll(async () => {
  await projector?.stop();
  await db?.$disconnect();
  await readDb?.drop();
  await store?.close();
});

describe("live projector batches", () => {
  it("applies a burst in runs of several events per transaction, ending where one-by-one application ends", async () => {
    const productId = randomUUID();
    const increases = Array.from({ length: 60 }, (_, i) => BigInt(i + 1)).filter((q) => q !== POISON_QUANTITY);
    const lastPosition = await appendProduct(productId, increases);
    projector = startProjector({ client: store.client, db, projections: [projection], logger: pino({ level: "silent" }), maxRetries: 2, retryBaseMs: 5, observer });

    const inventory = await inventoryOnceApplied(productId, BigInt(increases.length));
    expect(inventory).toBe(1n + increases.reduce((a, b) => a + b, 0n));
    expect(appliedRuns.reduce((a, b) => a + b, 0)).toBe(increases.length + 1);
    expect(Math.max(...appliedRuns)).toBeGreaterThan(1);
    expect((await readCheckpoint(db, projection.name))?.commit).toBe(lastPosition);
  });

  it("retries and parks a poison event inside a burst on its own and applies the rest of the burst", async () => {
    const productId = randomUUID();
    const increases = [1n, 2n, POISON_QUANTITY, 4n, 5n, 6n];
    await appendProduct(productId, increases);
    // The poison event (revision 3) never lands; the row still reaches the stream's last revision.
    const inventory = await inventoryOnceApplied(productId, BigInt(increases.length));
    expect(inventory).toBe(1n + 1n + 2n + 4n + 5n + 6n);
    const deadline = Date.now() + 30_000;
    while (parked === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(parked).toBe(1);
    expect(poisonAttempts).toBe(3); // one apply per delivery: the first and two retries
  });
});
