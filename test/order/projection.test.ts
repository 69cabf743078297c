// The order context's projections applied event by event to a fresh read db: the order read
// model (statuses never roll back on a late retry) and the order catalog (inventory follows
// reservations and releases; stale names and prices are ignored).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
} from "../../gen/eventmall/order/v1/events_pb";
import {
  ProductCreatedSchema,
  ProductNameChangedSchema,
  ProductPriceChangedSchema,
  StockReleasedSchema,
  StockReservedSchema,
} from "../../gen/eventmall/product/v1/events_pb";
import type { ProjectedEvent, Projection } from "../../src/kernel/read/projector";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { orderProjection } from "../../src/order/projection";
import { orderCatalogProjection } from "../../src/order/projection-catalog";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";

let database: TestReadDb;
let db: ReadDb;
let position = 0n;

beforeAll(async () => {
  database = await createMigratedReadDb("sqlite");
  db = await openReadDb(database.url);
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

const at = timestampFromDate(new Date("2026-05-01T10:00:00Z"));

function event<D extends DescMessage>(streamId: string, revision: bigint, desc: D, message: MessageShape<D>): ProjectedEvent {
  position += 100n;
  return {
    id: `event-${position}`,
    streamId,
    revision,
    type: desc.typeName,
    data: toJson(desc, message),
    metadata: {},
    created: new Date("2026-05-01T10:00:00Z"),
    position: { commit: position, prepare: position },
  };
}

const apply = (projection: Projection, e: ProjectedEvent) => db.$transaction((tx) => projection.apply(tx, e));

describe("order projection", () => {
  const orderId = "6b2f3e4d-5c6b-4a79-8a98-776655443322";
  const stream = `order-${orderId}`;
  const placed = create(OrderPlacedSchema, {
    orderId,
    memberId: "member-7",
    lines: [
      { line: 1, productId: "p-1", productName: "Lamp", unitPrice: 1500n, quantity: 2n, lineTotal: 3000n },
      { line: 2, productId: "p-2", productName: "Desk", unitPrice: 20000n, quantity: 1n, lineTotal: 20000n },
    ],
    total: 23000n,
    delivery: { address: "1 Main St", phone: "010-1234-5678", message: "hi" },
    placedAt: at,
  });

  it("records a placed order with its lines, once", async () => {
    await apply(orderProjection, event(stream, 0n, OrderPlacedSchema, placed));
    await apply(orderProjection, event(stream, 0n, OrderPlacedSchema, placed));
    const row = await db.order.findUnique({ where: { id: orderId }, include: { lines: { orderBy: { line: "asc" } } } });
    expect(row).toMatchObject({ memberId: "member-7", status: "placed", total: 23000n, deliveryAddress: "1 Main St", revision: 0n });
    expect(row?.lines.map((l) => [l.line, l.productName, l.quantity, l.lineTotal])).toEqual([
      [1, "Lamp", 2n, 3000n],
      [2, "Desk", 1n, 20000n],
    ]);
  });

  it("follows the order's status, and a late retry of an older event does not roll it back", async () => {
    const confirmed = event(stream, 1n, OrderConfirmedSchema, create(OrderConfirmedSchema, { orderId, confirmedAt: at }));
    await apply(orderProjection, confirmed);
    await apply(orderProjection, event(stream, 2n, OrderCancelledSchema, create(OrderCancelledSchema, { orderId, cancelledAt: at })));
    await apply(orderProjection, confirmed);
    expect(await db.order.findUnique({ where: { id: orderId } })).toMatchObject({ status: "cancelled", revision: 2n });
  });

  it("records why and on which line an order was rejected", async () => {
    const rejectedId = "7c3a4f5e-6d7c-4b8a-9ba9-887766554433";
    await apply(orderProjection, event(`order-${rejectedId}`, 0n, OrderPlacedSchema, { ...placed, orderId: rejectedId }));
    const rejected = create(OrderRejectedSchema, { orderId: rejectedId, reason: "INSUFFICIENT_INVENTORY", line: 2, detail: "none left", rejectedAt: at });
    await apply(orderProjection, event(`order-${rejectedId}`, 1n, OrderRejectedSchema, rejected));
    expect(await db.order.findUnique({ where: { id: rejectedId } })).toMatchObject({ status: "rejected", rejectReason: "INSUFFICIENT_INVENTORY", rejectedLine: 2 });
  });

  it("refuses an event filed in another order's stream, and a status before the order (retried later)", async () => {
    await expect(apply(orderProjection, event("order-someone-else", 0n, OrderPlacedSchema, placed))).rejects.toThrow(/sits in stream/);
    const orphan = create(OrderConfirmedSchema, { orderId: "missing", confirmedAt: at });
    await expect(apply(orderProjection, event("order-missing", 1n, OrderConfirmedSchema, orphan))).rejects.toThrow(/not in the read model yet/);
  });
});

describe("order catalog projection", () => {
  const productId = "9e8d7c6b-5a49-4837-9261-504f3e2d1c0b";
  const stream = `product-${productId}`;

  it("copies a product's name, price and stock, and follows reservations and releases", async () => {
    const created = create(ProductCreatedSchema, { productId, name: "Lamp", price: 1500n, inventory: 5n, imagePath: "", description: "", createdAt: at });
    await apply(orderCatalogProjection, event(stream, 0n, ProductCreatedSchema, created));
    await apply(orderCatalogProjection, event(stream, 1n, StockReservedSchema, create(StockReservedSchema, { productId, orderId: "o-1", line: 1, quantity: 3n, changedAt: at })));
    await apply(orderCatalogProjection, event(stream, 2n, StockReleasedSchema, create(StockReleasedSchema, { productId, orderId: "o-1", line: 1, quantity: 1n, changedAt: at })));
    expect(await db.orderCatalogProduct.findUnique({ where: { id: productId } })).toMatchObject({ name: "Lamp", price: 1500n, inventory: 3n, revision: 2n });
  });

  it("takes newer names and prices, ignores stale ones", async () => {
    await apply(orderCatalogProjection, event(stream, 4n, ProductPriceChangedSchema, create(ProductPriceChangedSchema, { productId, price: 1700n, changedAt: at })));
    await apply(orderCatalogProjection, event(stream, 3n, ProductNameChangedSchema, create(ProductNameChangedSchema, { productId, name: "Old name", changedAt: at })));
    expect(await db.orderCatalogProduct.findUnique({ where: { id: productId } })).toMatchObject({ name: "Lamp", price: 1700n, revision: 4n });
  });
});
