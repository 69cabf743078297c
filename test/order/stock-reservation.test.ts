// The stock reservation process manager against the embedded store: the same OrderPlaced (or
// OrderCancelled) handed to it twice, in turn or at once, changes stock once.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedEvent } from "@eventstore/db-client";
import { pino } from "pino";
import type { ProjectedEvent, Reactor } from "../../src/kernel/read/projector";
import { AggregateRepository } from "../../src/kernel/write/repository";
import { orderAggregate, type OrderCommand } from "../../src/order/decider";
import { stockReservation, type OrderRepository, type ProductRepository } from "../../src/order/stock-reservation";
import { productAggregate } from "../../src/product/decider";
import { openStore, type StoreUnderTest } from "../eventstore/harness";

const metadata = { correlationId: "stock-reservation-test", causationId: "stock-reservation-test" };
const options = { snapshotEvery: 3, maxConflictRetries: 20, logger: pino({ level: "silent" }) };
const now = new Date("2026-04-01T00:00:00Z");

let store: StoreUnderTest;
let orders: OrderRepository;
let products: ProductRepository;
let reactor: Reactor;

beforeAll(async () => {
  store = await openStore();
  orders = new AggregateRepository(store.client, orderAggregate, options);
  products = new AggregateRepository(store.client, productAggregate, options);
  reactor = stockReservation({ orders, products });
});

afterAll(async () => {
  await products?.flushSnapshots();
  await store?.close();
});

async function product(inventory: bigint): Promise<string> {
  const productId = randomUUID();
  await products.handle(productId, { type: "CreateProduct", productId, name: "Lamp", price: 100n, inventory, imagePath: "", description: "", now }, { metadata });
  return productId;
}

async function placeOrder(lines: { productId: string; quantity: bigint }[]): Promise<string> {
  const orderId = randomUUID();
  const command: OrderCommand = {
    type: "PlaceOrder",
    orderId,
    memberId: "member-1",
    lines: lines.map((line) => ({ ...line, productName: "Lamp", unitPrice: 100n })),
    delivery: { address: "1 Main St", phone: "010-1234-5678", message: "" },
    now,
  };
  await orders.handle(orderId, command, { metadata });
  return orderId;
}

async function recorded(stream: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const resolved of store.client.readStream(stream)) events.push(resolved.event!);
  return events;
}

/** The order stream's event of this type as the projector hands it to a reactor. */
async function delivery(orderId: string, type: string): Promise<ProjectedEvent> {
  const event = (await recorded(`order-${orderId}`)).find((e) => e.type === type);
  if (!event) throw new Error(`no ${type} in order-${orderId}`);
  return { id: event.id, streamId: event.streamId, revision: event.revision, type: event.type, data: event.data, metadata: event.metadata, created: event.created, position: event.position! };
}

async function inventory(productId: string): Promise<bigint> {
  const { state } = await products.load(productId);
  if (!state.exists) throw new Error("no such product");
  return state.inventory;
}

async function status(orderId: string): Promise<string> {
  const { state } = await orders.load(orderId);
  return state.exists ? state.status : "none";
}

const types = async (stream: string) => (await recorded(stream)).map((e) => e.type.replace(/^eventmall\.\w+\.v1\./, ""));

describe("stock reservation redelivery", () => {
  it("reserves once and confirms once when OrderPlaced is delivered twice", async () => {
    const lamp = await product(5n);
    const orderId = await placeOrder([{ productId: lamp, quantity: 2n }]);
    const placed = await delivery(orderId, "eventmall.order.v1.OrderPlaced");

    await reactor.react(placed);
    await reactor.react(placed);

    expect(await inventory(lamp)).toBe(3n);
    expect(await types(`product-${lamp}`)).toEqual(["ProductCreated", "StockReserved"]);
    expect(await types(`order-${orderId}`)).toEqual(["OrderPlaced", "OrderConfirmed"]);
  });

  it("reserves once when two deliveries of OrderPlaced are handled at the same time", async () => {
    const lamp = await product(5n);
    const orderId = await placeOrder([{ productId: lamp, quantity: 2n }]);
    const placed = await delivery(orderId, "eventmall.order.v1.OrderPlaced");

    await Promise.all([reactor.react(placed), reactor.react(placed)]);

    expect(await inventory(lamp)).toBe(3n);
    expect((await types(`product-${lamp}`)).filter((t) => t === "StockReserved")).toHaveLength(1);
    expect(await status(orderId)).toBe("confirmed");
  });

  it("rejects once, giving back the first line, when a rejected order's OrderPlaced is redelivered", async () => {
    const lamp = await product(5n);
    const desk = await product(1n);
    const orderId = await placeOrder([
      { productId: lamp, quantity: 2n },
      { productId: desk, quantity: 2n },
    ]);
    const placed = await delivery(orderId, "eventmall.order.v1.OrderPlaced");

    await reactor.react(placed);
    await reactor.react(placed);
    // The process also hears its own OrderRejected (release again: nothing left to release).
    await reactor.react(await delivery(orderId, "eventmall.order.v1.OrderRejected"));

    expect(await inventory(lamp)).toBe(5n);
    expect(await inventory(desk)).toBe(1n);
    expect(await types(`product-${lamp}`)).toEqual(["ProductCreated", "StockReserved", "StockReleased"]);
    expect(await types(`product-${desk}`)).toEqual(["ProductCreated"]);
    expect(await types(`order-${orderId}`)).toEqual(["OrderPlaced", "OrderRejected"]);
  });

  it("releases once when OrderCancelled is delivered twice, and a late OrderPlaced takes nothing again", async () => {
    const lamp = await product(5n);
    const orderId = await placeOrder([{ productId: lamp, quantity: 2n }]);
    const placed = await delivery(orderId, "eventmall.order.v1.OrderPlaced");
    await reactor.react(placed);
    await orders.handle(orderId, { type: "CancelOrder", orderId, now }, { metadata });
    const cancelled = await delivery(orderId, "eventmall.order.v1.OrderCancelled");

    await reactor.react(cancelled);
    await reactor.react(cancelled);
    await reactor.react(placed);

    expect(await inventory(lamp)).toBe(5n);
    expect(await types(`product-${lamp}`)).toEqual(["ProductCreated", "StockReserved", "StockReleased"]);
  });

  it("takes no stock for an order cancelled before its reservation ran", async () => {
    const lamp = await product(5n);
    const orderId = await placeOrder([{ productId: lamp, quantity: 2n }]);
    const placed = await delivery(orderId, "eventmall.order.v1.OrderPlaced");
    // The cancel's release finds nothing held; the late OrderPlaced sees a cancelled order.
    await orders.handle(orderId, { type: "CancelOrder", orderId, now }, { metadata });
    await reactor.react(await delivery(orderId, "eventmall.order.v1.OrderCancelled"));
    await reactor.react(placed);

    expect(await inventory(lamp)).toBe(5n);
    expect(await status(orderId)).toBe("cancelled");
  });

  it("carries the order's correlation id and the event as causation onto the product events", async () => {
    const lamp = await product(5n);
    const orderId = await placeOrder([{ productId: lamp, quantity: 1n }]);
    const placed = await delivery(orderId, "eventmall.order.v1.OrderPlaced");
    await reactor.react(placed);
    const reserved = (await recorded(`product-${lamp}`)).find((e) => e.type === "eventmall.product.v1.StockReserved")!;
    expect(reserved.metadata).toEqual({ correlationId: metadata.correlationId, causationId: placed.id });
  });

  it("rejects an order naming a product that does not exist, giving back the lines before it", async () => {
    const lamp = await product(5n);
    const orderId = await placeOrder([
      { productId: lamp, quantity: 1n },
      { productId: randomUUID(), quantity: 1n },
    ]);
    await reactor.react(await delivery(orderId, "eventmall.order.v1.OrderPlaced"));

    expect(await status(orderId)).toBe("rejected");
    const rejected = (await recorded(`order-${orderId}`)).at(-1)!;
    expect(rejected.data).toMatchObject({ reason: "PRODUCT_NOT_FOUND", line: 2 });
    expect(await inventory(lamp)).toBe(5n);
  });

  it("sells exactly the stock there is when 20 orders are reacted to at once (as by replicas)", async () => {
    const lamp = await product(10n);
    const orderIds = await Promise.all(Array.from({ length: 20 }, () => placeOrder([{ productId: lamp, quantity: 1n }])));
    const deliveries = await Promise.all(orderIds.map((orderId) => delivery(orderId, "eventmall.order.v1.OrderPlaced")));
    const replica = stockReservation({ orders, products: new AggregateRepository(store.client, productAggregate, options) });

    await Promise.all(deliveries.map((placed, i) => (i % 2 === 0 ? reactor : replica).react(placed)));

    const outcomes = await Promise.all(orderIds.map(status));
    expect(outcomes.filter((s) => s === "confirmed")).toHaveLength(10);
    expect(outcomes.filter((s) => s === "rejected")).toHaveLength(10);
    expect(await inventory(lamp)).toBe(0n);
    expect((await types(`product-${lamp}`)).filter((t) => t === "StockReserved")).toHaveLength(10);
  });
});
