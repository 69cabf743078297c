// Product projection end to end: events appended to the embedded store reach the product
// table through the projector's persistent subscription; redelivery is a no-op; a poison
// event is retried, then parked, and the events after it are still applied.
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { binaryEvent, jsonEvent, type ResolvedEvent } from "@eventstore/db-client";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  InventoryDecreasedSchema,
  InventoryIncreasedSchema,
  ProductCreatedSchema,
  ProductNameChangedSchema,
  ProductPriceChangedSchema,
  ProductSnapshotSchema,
} from "../../gen/eventmall/product/v1/events_pb";
import { EventCodec } from "../../src/kernel/write/event-codec";
import { groupName, startProjector, type RunningProjector } from "../../src/kernel/read/projector";
import { applyWithCheckpoint, readCheckpoint, type ProjectedEvent } from "../../src/kernel/read/projector-checkpoint";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { productProjection } from "../../src/product/projection";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { createMigratedReadDb, READ_DB_PROVIDERS, type TestReadDb } from "../support/read-db";

const MAX_RETRIES = 2;
const codec = new EventCodec([
  ProductCreatedSchema,
  ProductNameChangedSchema,
  ProductPriceChangedSchema,
  InventoryIncreasedSchema,
  InventoryDecreasedSchema,
  ProductSnapshotSchema,
]);
const metadata = { correlationId: "projection-test", causationId: "projection-test" };
const at = (iso: string) => timestampFromDate(new Date(iso));

let store: StoreUnderTest;
let readDb: TestReadDb;
let db: ReadDb;
let projector: RunningProjector;
const logLines: Record<string, unknown>[] = [];
let sink: Writable;

function created(productId: string, name: string) {
  return codec.encode(
    ProductCreatedSchema,
    create(ProductCreatedSchema, {
      productId,
      name,
      price: 1500n,
      inventory: 7n,
      imagePath: "images/p.png",
      description: "a product",
      createdAt: at("2026-03-01T10:00:00.000Z"),
    }),
    metadata,
  );
}

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function toProjected(resolved: ResolvedEvent): ProjectedEvent {
  const e = resolved.event!;
  return { id: e.id, streamId: e.streamId, revision: e.revision, type: e.type, data: e.data, metadata: e.metadata, created: e.created, position: e.position! };
}

async function readBack(streamId: string): Promise<ProjectedEvent[]> {
  const events: ProjectedEvent[] = [];
  for await (const resolved of store.client.readStream(streamId)) events.push(toProjected(resolved));
  return events;
}

// Runs against each read-database provider: the same assertions hold on SQLite and PostgreSQL.
describe.each(READ_DB_PROVIDERS)("on %s", (provider) => {
  beforeAll(async () => {
    store = await openStore();
    readDb = await createMigratedReadDb(provider);
    db = await openReadDb(readDb.url);
    sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    projector = startProjector({
      client: store.client,
      db,
      projections: [productProjection],
      logger: pino({ level: "info" }, sink),
      maxRetries: MAX_RETRIES,
      retryBaseMs: 5,
    });
  });

  afterAll(async () => {
    await projector?.stop();
    await db?.$disconnect();
    await store?.close();
    await readDb?.drop();
  });

  describe("product projection", () => {
    const productId = randomUUID();
    const stream = `product-${productId}`;

    it("applies product events appended to the store to the product table", async () => {
      await store.client.appendToStream(stream, [
        created(productId, "Desk Lamp"),
        codec.encode(ProductNameChangedSchema, create(ProductNameChangedSchema, { productId, name: "Desk Lamp XL", changedAt: at("2026-03-02T10:00:00Z") }), metadata),
        codec.encode(ProductPriceChangedSchema, create(ProductPriceChangedSchema, { productId, price: 1999n, changedAt: at("2026-03-03T10:00:00Z") }), metadata),
        codec.encode(InventoryIncreasedSchema, create(InventoryIncreasedSchema, { productId, quantity: 5n, changedAt: at("2026-03-04T10:00:00Z") }), metadata),
        codec.encode(InventoryDecreasedSchema, create(InventoryDecreasedSchema, { productId, quantity: 2n, changedAt: at("2026-03-05T10:00:00Z") }), metadata),
      ]);
      // Snapshot streams and other streams are not the product read model's business.
      await store.client.appendToStream(`product_snapshot-${productId}`, [
        codec.encode(ProductSnapshotSchema, create(ProductSnapshotSchema, { productId, name: "WRONG", price: 1n, inventory: 1n }), metadata),
      ]);
      await store.client.appendToStream(`other-${randomUUID()}`, [jsonEvent({ type: "SomethingHappened", data: { a: 1 } })]);

      const row = await eventually(async () => {
        const found = await db.product.findUnique({ where: { id: productId } });
        return found && found.revision === 4n ? found : undefined;
      }, "the product row at revision 4");
      expect(row).toMatchObject({
        name: "Desk Lamp XL",
        nameFolded: "desk lamp xl",
        price: 1999n,
        inventory: 10n,
        imagePath: "images/p.png",
        description: "a product",
        revision: 4n,
      });
      expect(row.createdAt.toISOString()).toBe("2026-03-01T10:00:00.000Z");
      expect(row.updatedAt.toISOString()).toBe("2026-03-05T10:00:00.000Z");

      const [last] = (await readBack(stream)).slice(-1);
      const checkpoint = await eventually(async () => {
        const cp = await readCheckpoint(db, productProjection.name);
        return cp && cp.commit >= last!.position.commit ? cp : undefined;
      }, "the checkpoint to pass the last product event");
      expect(checkpoint.commit).toBeGreaterThanOrEqual(last!.position.commit);
    });

    it("treats a redelivered event as a no-op (checkpoint in the same transaction)", async () => {
      const before = await db.product.findUniqueOrThrow({ where: { id: productId } });
      const checkpointBefore = await readCheckpoint(db, productProjection.name);
      // Replay the stream's real events, as the store would on redelivery, through the runtime's apply path.
      for (const event of await readBack(stream)) {
        expect(await applyWithCheckpoint(db, productProjection, event)).toBe("skipped");
      }
      expect(await db.product.findUniqueOrThrow({ where: { id: productId } })).toEqual(before);
      expect(await readCheckpoint(db, productProjection.name)).toEqual(checkpointBefore);
    });

    it("rolls back the read-model change when the checkpointed transaction fails", async () => {
      const [increase] = (await readBack(stream)).filter((e) => e.type === InventoryIncreasedSchema.typeName);
      const before = await db.product.findUniqueOrThrow({ where: { id: productId } });
      const failing = {
        ...productProjection,
        async apply(tx: Parameters<typeof productProjection.apply>[0], event: ProjectedEvent) {
          await productProjection.apply(tx, event);
          throw new Error("fails after writing");
        },
      };
      const later = { ...increase!, position: { commit: 1n << 60n, prepare: 1n << 60n } };
      await expect(applyWithCheckpoint(db, failing, later)).rejects.toThrow("fails after writing");
      expect(await db.product.findUniqueOrThrow({ where: { id: productId } })).toEqual(before);
      expect((await readCheckpoint(db, productProjection.name))!.commit).toBeLessThan(1n << 60n);
    });

    it("resubscribes when its subscription is dropped, recreating a deleted group without reapplying", async () => {
      const group = groupName(productProjection);
      const subscribedBefore = logLines.filter((l) => l.msg === "subscribed").length;
      await store.client.deletePersistentSubscriptionToAll(group);
      await eventually(async () => (logLines.filter((l) => l.msg === "subscribed").length > subscribedBefore ? true : undefined), "a new subscription");
      expect(logLines.some((l) => l.level === 50 && l.msg === "subscription dropped; resubscribing") || logLines.some((l) => l.msg === "subscription ended by the server; resubscribing")).toBe(true);

      // The recreated group starts from the beginning of $all: everything is redelivered, and skipped.
      const renamed = codec.encode(ProductNameChangedSchema, create(ProductNameChangedSchema, { productId, name: "Floor Lamp", changedAt: at("2026-03-06T10:00:00Z") }), metadata);
      await store.client.appendToStream(stream, [renamed]);
      const row = await eventually(async () => {
        const found = await db.product.findUniqueOrThrow({ where: { id: productId } });
        return found.revision === 5n ? found : undefined;
      }, "the rename after resubscribing");
      expect(row).toMatchObject({ name: "Floor Lamp", inventory: 10n, price: 1999n });
    });

    it("stops gracefully, finishing the event in hand, and a new projector resumes where the group left off", async () => {
      await projector.stop();
      const lampId = randomUUID();
      await store.client.appendToStream(`product-${lampId}`, [created(lampId, "Stool")]);

      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const inApply = new Promise<void>((resolve) => (entered = resolve));
      const slow = {
        ...productProjection,
        applyBatch: undefined, // every event through the gated apply below
        async apply(tx: Parameters<typeof productProjection.apply>[0], event: ProjectedEvent) {
          if (event.streamId === `product-${lampId}`) {
            entered();
            await released;
          }
          await productProjection.apply(tx, event);
        },
      };
      projector = startProjector({ client: store.client, db, projections: [slow], logger: pino({ level: "silent" }), maxRetries: MAX_RETRIES, retryBaseMs: 5 });
      await inApply;
      let stopped = false;
      const stopping = projector.stop().then(() => (stopped = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stopped).toBe(false); // still holding the event
      release();
      await stopping;
      expect((await db.product.findUnique({ where: { id: lampId } }))?.name).toBe("Stool");

      // Restart for the remaining tests: nothing is applied twice.
      projector = startProjector({ client: store.client, db, projections: [productProjection], logger: pino({ level: "info" }, sink), maxRetries: MAX_RETRIES, retryBaseMs: 5 });
      const moreId = randomUUID();
      await store.client.appendToStream(`product-${moreId}`, [created(moreId, "Bench")]);
      await eventually(() => db.product.findUnique({ where: { id: moreId } }).then((r) => r ?? undefined), "an event appended after the restart");
      expect((await db.product.findUniqueOrThrow({ where: { id: lampId } })).inventory).toBe(7n);
    });

    it("retries a poison event, parks it, and keeps applying the events after it", async () => {
      const poisonId = randomUUID();
      const afterId = randomUUID();
      // A known event type whose data is not JSON at all.
      await store.client.appendToStream(`product-${poisonId}`, [
        binaryEvent({ type: ProductCreatedSchema.typeName, data: Buffer.from("{not json") }),
      ]);
      await store.client.appendToStream(`product-${afterId}`, [created(afterId, "Chair")]);

      const after = await eventually(() => db.product.findUnique({ where: { id: afterId } }).then((r) => r ?? undefined), "the product after the poison event");
      expect(after.name).toBe("Chair");

      const info = await eventually(async () => {
        const current = await store.client.getPersistentSubscriptionToAllInfo(groupName(productProjection));
        return current.stats.parkedMessageCount >= 1n ? current : undefined;
      }, "the poison event to be parked");
      expect(info.stats.parkedMessageCount).toBe(1n);
      expect(await db.product.findUnique({ where: { id: poisonId } })).toBeNull();

      const [poison] = await readBack(`product-${poisonId}`);
      const failures = logLines.filter((l) => l.stream === `product-${poisonId}` && l.level === 50);
      expect(failures.length).toBe(MAX_RETRIES + 1);
      expect(failures.map((l) => l.retryCount)).toEqual([0, 1, 2]);
      // The failure is marked, so replaying the parked event later applies it despite the checkpoint.
      const mark = await db.projectionRetry.findUnique({
        where: { projection_commitPosition: { projection: productProjection.name, commitPosition: poison!.position.commit } },
      });
      expect(mark?.lastError).toBeTruthy();
    });
  });
});
