// Shared pieces of the projection lifecycle tests: a migrated temp read database (SQLite or PostgreSQL),
// product events to append, and waiting for asynchronous outcomes.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { EventStoreDBClient } from "@eventstore/db-client";
import pino from "pino";
import { InventoryDecreasedSchema, InventoryIncreasedSchema, ProductCreatedSchema } from "../../gen/eventmall/product/v1/events_pb";
import { EventCodec } from "../../src/kernel/write/event-codec";
import { readCheckpoint } from "../../src/kernel/read/projector-checkpoint";
import { migrateReadDb, openReadDb, type ReadDb, type ReadDbProvider } from "../../src/kernel/read/read-db";
import { createMigratedReadDb } from "../support/read-db";

export const silent = pino({ level: "silent" });
const codec = new EventCodec([ProductCreatedSchema, InventoryIncreasedSchema, InventoryDecreasedSchema]);
const metadata = { correlationId: "projections-test", causationId: "projections-test" };
const DAY_MS = 86_400_000;
const EPOCH = Date.UTC(2026, 0, 1);

export interface TempReadDb {
  url: string;
  db: ReadDb;
  close(): Promise<void>;
}

/** A migrated read database: a temp SQLite file, or a temporary database on the local PostgreSQL server. */
export async function tempReadDb(provider: ReadDbProvider = "sqlite"): Promise<TempReadDb> {
  if (provider === "postgresql") {
    const database = await createMigratedReadDb(provider);
    const db = await openReadDb(database.url);
    return {
      url: database.url,
      db,
      async close() {
        await db.$disconnect();
        await database.drop();
      },
    };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "eventmall-projections-"));
  const url = `file:${path.join(dir, "read.db")}`;
  await migrateReadDb(url);
  const db = await openReadDb(url);
  return {
    url,
    db,
    async close() {
      await db.$disconnect();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function productCreated(productId: string, inventory = 10n, day = 0) {
  return codec.encode(
    ProductCreatedSchema,
    create(ProductCreatedSchema, {
      productId,
      name: `product ${productId.slice(0, 8)}`,
      price: 1000n,
      inventory,
      imagePath: "img/p.png",
      description: "test product",
      createdAt: timestampFromDate(new Date(EPOCH + day * DAY_MS)),
    }),
    metadata,
  );
}

export function inventoryChanged(productId: string, quantity: bigint, day: number) {
  const schema = quantity >= 0n ? InventoryIncreasedSchema : InventoryDecreasedSchema;
  return codec.encode(
    schema,
    create(schema, { productId, quantity: quantity >= 0n ? quantity : -quantity, changedAt: timestampFromDate(new Date(EPOCH + day * DAY_MS + 3_600_000)) }),
    metadata,
  );
}

/**
 * Appends `count` events over `products` product streams (one ProductCreated each, then
 * inventory movements spread over days), in appends of up to `perAppend` events.
 */
export async function seedProductEvents(client: EventStoreDBClient, count: number, products = 100, perAppend = 100): Promise<{ ids: string[]; last: bigint }> {
  const ids = Array.from({ length: products }, () => randomUUID());
  const perProduct = Math.ceil(count / products);
  let written = 0;
  let last = -1n;
  for (const [index, id] of ids.entries()) {
    const events = [productCreated(id, 1_000n, index % 7)];
    for (let i = 1; i < perProduct && written + events.length < count; i++) {
      events.push(inventoryChanged(id, i % 3 === 0 ? -BigInt(i % 5 + 1) : BigInt(i % 11 + 1), (index + i) % 30));
    }
    for (let start = 0; start < events.length; start += perAppend) {
      const result = await client.appendToStream(`product-${id}`, events.slice(start, start + perAppend));
      last = result.position?.commit ?? last;
    }
    written += events.length;
    if (written >= count) break;
  }
  return { ids, last };
}

export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the projection's checkpoint reached the last product event in $all. */
export async function caughtUp(db: ReadDb, projection: string, lastProductEvent: bigint, timeoutMs = 240_000): Promise<void> {
  await eventually(async () => ((await readCheckpoint(db, projection))?.commit ?? -1n) >= lastProductEvent || undefined, `${projection} to reach ${lastProductEvent}`, timeoutMs);
}

export async function inventoryRows(db: ReadDb) {
  return db.inventoryMovementDaily.findMany({ orderBy: [{ productId: "asc" }, { day: "asc" }] });
}
