// Inventory movements per product per UTC day: a report read model that builds itself from the
// whole history on first start (catch-up build), then follows live product events.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  InventoryDecreasedSchema,
  InventoryIncreasedSchema,
  ProductCreatedSchema,
  type InventoryDecreased,
  type InventoryIncreased,
  type ProductCreated,
} from "../../gen/eventmall/product/v1/events_pb";
import { Prisma } from "../generated/read-db/sqlite/client";
import { EventCodec } from "../kernel/write/event-codec";
import { eventJson, type ProjectedEvent, type Projection } from "../kernel/read/projector";
import type { ReadTx } from "../kernel/read/read-db";
import { ProductStream } from "../product/decider";

const codec = new EventCodec([ProductCreatedSchema, InventoryIncreasedSchema, InventoryDecreasedSchema]);

interface Movement {
  productId: string;
  day: string;
  increased: bigint;
  decreased: bigint;
}

export const inventoryMovementsProjection: Projection = {
  name: "inventory-movements",
  filter: { streamPrefixes: [ProductStream.prefix] },
  build: "catch-up",
  tables: ["inventory_movement_daily"],
  async apply(tx, event) {
    const movement = movementOf(event);
    if (!movement) return;
    const { productId, day, increased, decreased } = movement;
    await tx.inventoryMovementDaily.upsert({
      where: { productId_day: { productId, day } },
      create: { productId, day, increased, decreased, movements: 1 },
      update: { increased: { increment: increased }, decreased: { increment: decreased }, movements: { increment: 1 } },
    });
  },
  // Sums the run per product and day, then one bulk upsert (same SQL on SQLite and PostgreSQL).
  async applyBatch(tx, events) {
    const totals = new Map<string, Movement & { movements: number }>();
    for (const event of events) {
      const movement = movementOf(event);
      if (!movement) continue;
      const key = `${movement.productId}/${movement.day}`;
      const total = totals.get(key);
      if (!total) totals.set(key, { ...movement, movements: 1 });
      else Object.assign(total, { increased: total.increased + movement.increased, decreased: total.decreased + movement.decreased, movements: total.movements + 1 });
    }
    const rows = [...totals.values()];
    for (let i = 0; i < rows.length; i += BULK_ROWS) await bulkUpsert(tx, rows.slice(i, i + BULK_ROWS));
  },
};

/** Rows per statement: 5 parameters each, well under SQLite's and PostgreSQL's limits. */
const BULK_ROWS = 1_000;

async function bulkUpsert(tx: ReadTx, rows: (Movement & { movements: number })[]): Promise<void> {
  const values = Prisma.join(rows.map((r) => Prisma.sql`(${r.productId}, ${r.day}, ${r.increased}, ${r.decreased}, ${r.movements})`));
  await tx.$executeRaw`
    INSERT INTO inventory_movement_daily (product_id, day, increased, decreased, movements) VALUES ${values}
    ON CONFLICT (product_id, day) DO UPDATE SET
      increased = inventory_movement_daily.increased + excluded.increased,
      decreased = inventory_movement_daily.decreased + excluded.decreased,
      movements = inventory_movement_daily.movements + excluded.movements`;
}

function movementOf(event: ProjectedEvent): Movement | undefined {
  if (!codec.knows(event.type)) return undefined;
  const productId = event.streamId.slice(ProductStream.prefix.length);
  const { message } = codec.decode(event.type, eventJson(event));
  switch (event.type) {
    case ProductCreatedSchema.typeName: {
      const { inventory, createdAt } = message as ProductCreated;
      return inventory > 0n ? { productId, day: day(createdAt, event), increased: inventory, decreased: 0n } : undefined;
    }
    case InventoryIncreasedSchema.typeName: {
      const { quantity, changedAt } = message as InventoryIncreased;
      return { productId, day: day(changedAt, event), increased: quantity, decreased: 0n };
    }
    case InventoryDecreasedSchema.typeName: {
      const { quantity, changedAt } = message as InventoryDecreased;
      return { productId, day: day(changedAt, event), increased: 0n, decreased: quantity };
    }
  }
  return undefined;
}

function day(timestamp: Timestamp | undefined, event: ProjectedEvent): string {
  return (timestamp ? timestampDate(timestamp) : event.created).toISOString().slice(0, 10);
}
