// The order context's catalog: its own copy of each product's name, price and inventory, built
// from product events, so placing an order never calls the product services.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
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
import { productEvents, ProductStream } from "../product/decider";

const codec = productEvents;

type CatalogEvent = ProductCreated | ProductNameChanged | ProductPriceChanged | InventoryIncreased | InventoryDecreased | StockReserved | StockReleased;
type Change = { name?: string; price?: bigint; inventory?: { increment: bigint } | { decrement: bigint } };

export const orderCatalogProjection: Projection = {
  name: "order-catalog",
  filter: { streamPrefixes: [ProductStream.prefix] },
  tables: ["order_catalog_product"],
  async apply(tx, event) {
    if (!event.streamId.startsWith(ProductStream.prefix) || !codec.knows(event.type)) return;
    const productId = event.streamId.slice(ProductStream.prefix.length);
    const message = codec.decode(event.type, eventJson(event)).message as CatalogEvent;
    if (message.productId !== productId) throw new Error(`event names product "${message.productId}" but sits in stream ${event.streamId}`);
    if (message.$typeName === "eventmall.product.v1.ProductCreated") return created(tx, event, message);
    const change = (newer: boolean): Change => {
      switch (message.$typeName) {
        case "eventmall.product.v1.ProductNameChanged":
          return newer ? { name: message.name } : {};
        case "eventmall.product.v1.ProductPriceChanged":
          return newer ? { price: message.price } : {};
        case "eventmall.product.v1.InventoryIncreased":
        case "eventmall.product.v1.StockReleased":
          return { inventory: { increment: message.quantity } };
        case "eventmall.product.v1.InventoryDecreased":
        case "eventmall.product.v1.StockReserved":
          return { inventory: { decrement: message.quantity } };
      }
    };
    await changed(tx, event, productId, message.changedAt, change);
  },
};

async function created(tx: ReadTx, event: ProjectedEvent, e: ProductCreated): Promise<void> {
  const existing = await tx.orderCatalogProduct.findUnique({ where: { id: e.productId }, select: { id: true } });
  if (existing) return;
  await tx.orderCatalogProduct.create({
    data: {
      id: e.productId,
      name: e.name,
      price: e.price,
      inventory: e.inventory,
      updatedAt: e.createdAt ? timestampDate(e.createdAt) : event.created,
      revision: event.revision,
    },
  });
}

/** Stale (retried, out of order) values are left alone; inventory deltas always count. */
async function changed(tx: ReadTx, event: ProjectedEvent, id: string, changedAt: Timestamp | undefined, change: (newer: boolean) => Change): Promise<void> {
  const row = await tx.orderCatalogProduct.findUnique({ where: { id }, select: { revision: true } });
  if (!row) throw new Error(`product ${id} is not in the order catalog yet (${event.type} at revision ${event.revision})`);
  const newer = event.revision > row.revision;
  await tx.orderCatalogProduct.update({
    where: { id },
    data: {
      ...change(newer),
      ...(newer ? { revision: event.revision, updatedAt: changedAt ? timestampDate(changedAt) : event.created } : {}),
    },
  });
}
