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
import { eventJson, type ProjectedEvent, type Projection } from "../kernel/read/projector";
import type { ReadTx } from "../kernel/read/read-db";
import { productEvents, ProductStream } from "./decider";
import type { Prisma } from "../generated/read-db/sqlite/client";

const codec = productEvents;

export const productProjection: Projection = {
  name: "product",
  filter: { streamPrefixes: [ProductStream.prefix] },
  tables: ["product"],
  async apply(tx, event) {
    const decoded = decodeProductEvent(event);
    if (!decoded) return;
    if (decoded.kind === "created") return created(tx, event, decoded.created);
    return changed(tx, event, decoded.changedAt, decoded.change);
  },
  // Live runs, catch-up builds and rebuilds: one read of the rows a run touches and one write per
  // product instead of a read and a write per event, with the same effect as apply() on each in
  // turn. Where apply() would throw (a change before its product exists), this throws too and
  // the caller goes event by event.
  async applyBatch(tx, events) {
    const decoded = events.flatMap((event) => {
      const d = decodeProductEvent(event);
      return d ? [{ event, ...d }] : [];
    });
    if (decoded.length === 0) return;
    const ids = [...new Set(decoded.map((d) => d.productId))];
    const found = await tx.product.findMany({ where: { id: { in: ids } }, select: { id: true, revision: true, updatedAt: true } });
    const rows = new Map<string, PendingRow>(found.map((row) => [row.id, pending(row)]));
    for (const d of decoded) {
      const row = rows.get(d.productId);
      if (d.kind === "created") {
        if (!row) rows.set(d.productId, pending(createdRow(d.event, d.created)));
        continue;
      }
      if (!row) throw notYetProjected(d.productId, d.event);
      const newer = d.event.revision > row.revision;
      const { inventory, ...values } = d.change(newer);
      Object.assign(row.set, values);
      if (inventory) row.inventoryDelta += "increment" in inventory ? inventory.increment : -inventory.decrement;
      if (newer) row.revision = d.event.revision;
      const at = when(d.changedAt, d.event);
      if (at > row.updatedAt) row.updatedAt = at;
      row.changed = true;
    }
    const toCreate: Prisma.ProductCreateManyInput[] = [];
    for (const [id, row] of rows) {
      if (row.create) {
        toCreate.push({ ...row.create, ...row.set, inventory: row.create.inventory + row.inventoryDelta, revision: row.revision, updatedAt: row.updatedAt });
      } else if (row.changed) {
        await tx.product.update({ where: { id }, data: { ...row.set, inventory: { increment: row.inventoryDelta }, revision: row.revision, updatedAt: row.updatedAt } });
      }
    }
    if (toCreate.length > 0) await tx.product.createMany({ data: toCreate });
  },
};

type ProductChange = { name?: string; nameFolded?: string; price?: bigint; inventory?: { increment: bigint } | { decrement: bigint } };

type DecodedProductEvent = { productId: string } & (
  | { kind: "created"; created: ProductCreated }
  | { kind: "changed"; changedAt: Timestamp | undefined; change: (newer: boolean) => ProductChange }
);

/** A product row as a batch leaves it: `create` for a row the batch itself creates. */
interface PendingRow {
  revision: bigint;
  updatedAt: Date;
  create?: Prisma.ProductCreateManyInput & { inventory: bigint };
  /** Values of name/price changes that were newer than the row when they came. */
  set: Omit<ProductChange, "inventory">;
  inventoryDelta: bigint;
  changed: boolean;
}

/** A row as the batch found or created it, with nothing applied yet (a fresh `set` each time). */
function pending(row: Pick<PendingRow, "revision" | "updatedAt" | "create">): PendingRow {
  return { revision: row.revision, updatedAt: row.updatedAt, create: row.create, set: {}, inventoryDelta: 0n, changed: false };
}

/** What a product event does to its row; undefined for events the read model ignores. */
function decodeProductEvent(event: ProjectedEvent): DecodedProductEvent | undefined {
  if (!event.streamId.startsWith(ProductStream.prefix) || !codec.knows(event.type)) return undefined;
  const productId = event.streamId.slice(ProductStream.prefix.length);
  const { message } = codec.decode(event.type, eventJson(event));
  const m = message as { productId: string };
  if (m.productId !== productId) {
    throw new Error(`event names product "${m.productId}" but sits in stream ${event.streamId}`);
  }
  const changedBy = (changedAt: Timestamp | undefined, change: (newer: boolean) => ProductChange): DecodedProductEvent => ({ productId, kind: "changed", changedAt, change });
  switch (event.type) {
    case ProductCreatedSchema.typeName:
      return { productId, kind: "created", created: message as ProductCreated };
    case ProductNameChangedSchema.typeName: {
      const { name, changedAt } = message as ProductNameChanged;
      return changedBy(changedAt, (newer) => (newer ? { name, nameFolded: foldName(name) } : {}));
    }
    case ProductPriceChangedSchema.typeName: {
      const { price, changedAt } = message as ProductPriceChanged;
      return changedBy(changedAt, (newer) => (newer ? { price } : {}));
    }
    case InventoryIncreasedSchema.typeName: {
      const { quantity, changedAt } = message as InventoryIncreased;
      return changedBy(changedAt, () => ({ inventory: { increment: quantity } }));
    }
    case InventoryDecreasedSchema.typeName: {
      const { quantity, changedAt } = message as InventoryDecreased;
      return changedBy(changedAt, () => ({ inventory: { decrement: quantity } }));
    }
    case StockReservedSchema.typeName: {
      const { quantity, changedAt } = message as StockReserved;
      return changedBy(changedAt, () => ({ inventory: { decrement: quantity } }));
    }
    case StockReleasedSchema.typeName: {
      const { quantity, changedAt } = message as StockReleased;
      return changedBy(changedAt, () => ({ inventory: { increment: quantity } }));
    }
  }
  return undefined;
}

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
  await tx.product.create({ data: createdRow(event, e).create });
}

function createdRow(event: ProjectedEvent, e: ProductCreated): { revision: bigint; updatedAt: Date; create: Prisma.ProductCreateManyInput & { inventory: bigint } } {
  const createdAt = when(e.createdAt, event);
  return {
    revision: event.revision,
    updatedAt: createdAt,
    create: {
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
  };
}

const notYetProjected = (id: string, event: ProjectedEvent) =>
  // Thrown so the event is retried and, if its ProductCreated never lands, parked for a replay.
  new Error(`product ${id} is not in the read model yet (${event.type} at revision ${event.revision})`);

/**
 * Applies a change to an existing row. Events normally arrive in stream order; a retried or
 * replayed one may arrive after newer events: values it sets are then stale (`newer` false) and
 * left alone, while inventory deltas still count.
 */
async function changed(tx: ReadTx, event: ProjectedEvent, changedAt: Timestamp | undefined, change: (newer: boolean) => ProductChange): Promise<void> {
  const id = event.streamId.slice(ProductStream.prefix.length);
  const row = await tx.product.findUnique({ where: { id }, select: { revision: true, updatedAt: true } });
  if (!row) throw notYetProjected(id, event);
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
