// Product read model: one row per product, built from the events of "product-<uuid>" streams.
// Snapshot streams ("product_snapshot-…") are the command side's cache and never projected.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  InventoryDecreasedSchema,
  InventoryIncreasedSchema,
  ProductCreatedSchema,
  ProductNameChangedSchema,
  ProductPriceChangedSchema,
  StockReleasedSchema,
  StockReservedSchema,
  type InventoryDecreased,
  type InventoryIncreased,
  type ProductCreated,
  type ProductNameChanged,
  type ProductPriceChanged,
  type StockReleased,
  type StockReserved,
} from "../../gen/eventmall/product/v1/events_pb";
import { EventCodec } from "../kernel/event-codec";
import { eventJson, type ProjectedEvent, type Projection } from "../kernel/projector";
import type { ReadTx } from "../kernel/read-db";

export const PRODUCT_STREAM_PREFIX = "product-";

const codec = new EventCodec([
  ProductCreatedSchema,
  ProductNameChangedSchema,
  ProductPriceChangedSchema,
  InventoryIncreasedSchema,
  InventoryDecreasedSchema,
  StockReservedSchema,
  StockReleasedSchema,
]);

export const productProjection: Projection = {
  name: "product",
  filter: { streamPrefixes: [PRODUCT_STREAM_PREFIX] },
  async apply(tx, event) {
    if (!event.streamId.startsWith(PRODUCT_STREAM_PREFIX) || !codec.knows(event.type)) return;
    const productId = event.streamId.slice(PRODUCT_STREAM_PREFIX.length);
    const { message } = codec.decode(event.type, eventJson(event));
    const m = message as { productId: string };
    if (m.productId !== productId) {
      throw new Error(`event names product "${m.productId}" but sits in stream ${event.streamId}`);
    }
    switch (event.type) {
      case ProductCreatedSchema.typeName:
        return created(tx, event, message as ProductCreated);
      case ProductNameChangedSchema.typeName: {
        const { name, changedAt } = message as ProductNameChanged;
        return changed(tx, event, changedAt, (newer) => (newer ? { name, nameFolded: foldName(name) } : {}));
      }
      case ProductPriceChangedSchema.typeName: {
        const { price, changedAt } = message as ProductPriceChanged;
        return changed(tx, event, changedAt, (newer) => (newer ? { price } : {}));
      }
      case InventoryIncreasedSchema.typeName: {
        const { quantity, changedAt } = message as InventoryIncreased;
        return changed(tx, event, changedAt, () => ({ inventory: { increment: quantity } }));
      }
      case InventoryDecreasedSchema.typeName: {
        const { quantity, changedAt } = message as InventoryDecreased;
        return changed(tx, event, changedAt, () => ({ inventory: { decrement: quantity } }));
      }
      case StockReservedSchema.typeName: {
        const { quantity, changedAt } = message as StockReserved;
        return changed(tx, event, changedAt, () => ({ inventory: { decrement: quantity } }));
      }
      case StockReleasedSchema.typeName: {
        const { quantity, changedAt } = message as StockReleased;
        return changed(tx, event, changedAt, () => ({ inventory: { increment: quantity } }));
      }
    }
  },
};

// Prisma's `contains` becomes LIKE without escaping, and SQLite LIKE has no escape character:
// the folded form swaps LIKE's special characters for private-use code points, so a search
// for "50%" or "a_b" matches literally on every provider.
const LIKE_SPECIALS: Record<string, string> = { "%": "\uE000", _: "\uE001", "\\": "\uE002" };

/** The one folding rule for names: what name search and name sorting compare. */
export function foldName(name: string): string {
  return name.toLowerCase().replace(/[%_\\]/g, (c) => LIKE_SPECIALS[c]!);
}

async function created(tx: ReadTx, event: ProjectedEvent, e: ProductCreated): Promise<void> {
  const existing = await tx.product.findUnique({ where: { id: e.productId }, select: { id: true } });
  if (existing) return; // a second ProductCreated for one stream cannot change what was created
  const createdAt = when(e.createdAt, event);
  await tx.product.create({
    data: {
      id: e.productId,
      name: e.name,
      nameFolded: foldName(e.name),
      price: e.price,
      inventory: e.inventory,
      imagePath: e.imagePath,
      description: e.description,
      createdAt,
      updatedAt: createdAt,
      revision: event.revision,
    },
  });
}

type ProductChange = { name?: string; nameFolded?: string; price?: bigint; inventory?: { increment: bigint } | { decrement: bigint } };

/**
 * Applies a change to an existing row. Events normally arrive in stream order; a retried or
 * replayed one may arrive after newer events: values it sets are then stale (`newer` false) and
 * left alone, while inventory deltas still count.
 */
async function changed(tx: ReadTx, event: ProjectedEvent, changedAt: Timestamp | undefined, change: (newer: boolean) => ProductChange): Promise<void> {
  const id = event.streamId.slice(PRODUCT_STREAM_PREFIX.length);
  const row = await tx.product.findUnique({ where: { id }, select: { revision: true, updatedAt: true } });
  // Thrown so the event is retried and, if its ProductCreated never lands, parked for a replay.
  if (!row) throw new Error(`product ${id} is not in the read model yet (${event.type} at revision ${event.revision})`);
  const newer = event.revision > row.revision;
  const at = when(changedAt, event);
  await tx.product.update({
    where: { id },
    data: {
      ...change(newer),
      ...(newer ? { revision: event.revision } : {}),
      ...(at > row.updatedAt ? { updatedAt: at } : {}),
    },
  });
}

function when(timestamp: Timestamp | undefined, event: ProjectedEvent): Date {
  return timestamp ? timestampDate(timestamp) : event.created;
}
