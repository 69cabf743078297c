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
import { EventCodec } from "../kernel/event-codec";
import type { ProjectedEvent, Projection } from "../kernel/projector";
import type { ReadTx } from "../kernel/read-db";
import { PRODUCT_STREAM_PREFIX } from "../product/projection";

const codec = new EventCodec([ProductCreatedSchema, InventoryIncreasedSchema, InventoryDecreasedSchema]);

export const inventoryMovementsProjection: Projection = {
  name: "inventory-movements",
  filter: { streamPrefixes: [PRODUCT_STREAM_PREFIX] },
  build: "catch-up",
  tables: ["inventory_movement_daily"],
  async apply(tx, event) {
    if (!codec.knows(event.type)) return;
    const productId = event.streamId.slice(PRODUCT_STREAM_PREFIX.length);
    const { message } = codec.decode(event.type, eventJson(event));
    switch (event.type) {
      case ProductCreatedSchema.typeName: {
        const { inventory, createdAt } = message as ProductCreated;
        if (inventory > 0n) await record(tx, productId, day(createdAt, event), inventory, 0n);
        return;
      }
      case InventoryIncreasedSchema.typeName: {
        const { quantity, changedAt } = message as InventoryIncreased;
        return record(tx, productId, day(changedAt, event), quantity, 0n);
      }
      case InventoryDecreasedSchema.typeName: {
        const { quantity, changedAt } = message as InventoryDecreased;
        return record(tx, productId, day(changedAt, event), 0n, quantity);
      }
    }
  },
};

async function record(tx: ReadTx, productId: string, day: string, increased: bigint, decreased: bigint): Promise<void> {
  await tx.inventoryMovementDaily.upsert({
    where: { productId_day: { productId, day } },
    create: { productId, day, increased, decreased, movements: 1 },
    update: { increased: { increment: increased }, decreased: { increment: decreased }, movements: { increment: 1 } },
  });
}

function day(timestamp: Timestamp | undefined, event: ProjectedEvent): string {
  return (timestamp ? timestampDate(timestamp) : event.created).toISOString().slice(0, 10);
}

function eventJson(event: ProjectedEvent): unknown {
  if (event.data instanceof Uint8Array) return JSON.parse(Buffer.from(event.data).toString("utf8"));
  if (typeof event.data === "string") throw new Error(`event data of ${event.type} is not valid JSON`);
  return event.data;
}
