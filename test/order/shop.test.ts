// The seed's demo scenario end to end through gRPC: register and log in, an admin creates
// products, a member orders and waits for the outcome (GetOrder wait_for_outcome); the stock
// reservation process takes the stock and confirms, or rejects and gives back what it took;
// PlaceOrder refuses at once what the catalog already shows as out of stock; cancel releases;
// shipping ends cancellation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { OrderStatus, type Order } from "../../gen/eventmall/order/v1/queries_pb";
import { BadRequestSchema, ErrorInfoSchema, PreconditionFailureSchema } from "../../gen/google/rpc/error_details_pb";
import { READ_DB_PROVIDERS } from "../support/read-db";
import { createProduct, eventually, openShop, registerMember, type Shop } from "./shop";

let shop: Shop;
let alice: { memberId: string; token: string };

async function failureOf(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConnectError)) throw new Error(`expected a ConnectError, got ${String(error)}`);
  return error;
}

async function orderOnceDecided(token: string, orderId: string): Promise<Order> {
  const queries = shop.orderQueriesAs(token);
  return eventually(async () => {
    const order = await queries.getOrder({ orderId }).then((r) => r.order, () => undefined);
    return order && order.status !== OrderStatus.PLACED ? order : undefined;
  }, `order ${orderId} to be decided`);
}

async function orderPlacedCount(): Promise<number> {
  let count = 0;
  for await (const resolved of shop.store.client.readAll()) if (resolved.event?.type === "eventmall.order.v1.OrderPlaced") count++;
  return count;
}

async function inventoryOf(productId: string): Promise<bigint> {
  const { state } = await shop.products.load(productId);
  if (!state.exists) throw new Error(`product ${productId} does not exist`);
  return state.inventory;
}

async function readModelInventory(productId: string, expected: bigint): Promise<bigint> {
  return eventually(async () => {
    const { product } = await shop.productQueries.getProduct({ productId });
    return product?.inventory === expected ? expected : undefined;
  }, `product read model inventory ${expected}`);
}

const delivery = { address: "12 Sejong-daero, Seoul", phone: "+82 10-1234-5678", message: "ring twice" };

describe.each(READ_DB_PROVIDERS)("ordering, end to end, read db on %s", (provider) => {
  beforeAll(async () => {
    shop = await openShop(provider);
    alice = await registerMember(shop, "alice_01");
  }, 60_000);

  afterAll(async () => {
    await shop?.close();
  });

  let lamp: string;
  let desk: string;
  let firstOrder: string;

  beforeAll(async () => {
    lamp = await createProduct(shop, "Lamp", 1500n, 5n);
    desk = await createProduct(shop, "Desk", 20000n, 1n);
  }, 60_000);

  it("places an order priced from the catalog (duplicate lines merged), takes the stock and confirms it", async () => {
    const orders = shop.orderCommandsAs(alice.token);
    const placed = await orders.placeOrder({
      items: [
        { productId: lamp, quantity: 2n },
        { productId: desk, quantity: 1n },
        { productId: lamp.toUpperCase(), quantity: 1n },
      ],
      delivery,
    });
    firstOrder = placed.orderId;
    expect(placed.total).toBe(3n * 1500n + 20000n);

    // One call: wait for the read model to have the order, then for its outcome.
    const { order } = await shop
      .orderQueriesAs(alice.token)
      .getOrder({ orderId: placed.orderId, positionToken: placed.result!.positionToken, waitForOutcome: true });
    if (!order) throw new Error("GetOrder answered no order");
    expect(order.status).toBe(OrderStatus.CONFIRMED);
    expect(order.memberId).toBe(alice.memberId);
    expect(order.lines.map(({ line, productId, productName, unitPrice, quantity, lineTotal }) => ({ line, productId, productName, unitPrice, quantity, lineTotal }))).toEqual([
      { line: 1, productId: lamp, productName: "Lamp", unitPrice: 1500n, quantity: 3n, lineTotal: 4500n },
      { line: 2, productId: desk, productName: "Desk", unitPrice: 20000n, quantity: 1n, lineTotal: 20000n },
    ]);
    expect(order.delivery).toMatchObject(delivery);

    expect(await inventoryOf(lamp)).toBe(2n);
    expect(await inventoryOf(desk)).toBe(0n);
    await readModelInventory(lamp, 2n);
    await readModelInventory(desk, 0n);

    const history = await shop.orderQueriesAs(alice.token).listMemberOrders({});
    expect(history.orders.map((o) => o.orderId)).toContain(placed.orderId);
  });

  it("refuses at once, appending nothing, an order the catalog already shows too little stock for", async () => {
    await eventually(async () => ((await shop.db.orderCatalogProduct.findUnique({ where: { id: desk } }))?.inventory === 0n ? true : undefined), "the catalog to show no desk");
    const before = await orderPlacedCount();
    const refused = await failureOf(
      shop.orderCommandsAs(alice.token).placeOrder({ items: [{ productId: lamp, quantity: 1n }, { productId: desk, quantity: 1n }], delivery }),
    );
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.findDetails(ErrorInfoSchema)[0]?.reason).toBe("INSUFFICIENT_INVENTORY");
    expect(refused.findDetails(PreconditionFailureSchema)[0]?.violations[0]?.subject).toBe(desk);
    expect(refused.rawMessage).toContain("has 0 in stock, 1 ordered");
    expect(await orderPlacedCount()).toBe(before);
    expect(await inventoryOf(lamp)).toBe(2n);
  });

  it("rejects an order the catalog still allowed when the stock is gone (the reservation is the authority), giving the first line's stock back", async () => {
    await shop.productCommands.increaseInventory({ productId: desk, quantity: 1n });
    await eventually(async () => ((await shop.db.orderCatalogProduct.findUnique({ where: { id: desk } }))?.inventory === 1n ? true : undefined), "the catalog to show one desk");
    // With the projector stopped the catalog still shows the desk that an admin now takes away.
    await shop.pauseProjector();
    await shop.productCommands.decreaseInventory({ productId: desk, quantity: 1n });
    const placed = await shop.orderCommandsAs(alice.token).placeOrder({
      items: [
        { productId: lamp, quantity: 1n },
        { productId: desk, quantity: 1n },
      ],
      delivery,
    });
    shop.resumeProjector();
    const order = await orderOnceDecided(alice.token, placed.orderId);
    expect(order.status).toBe(OrderStatus.REJECTED);
    expect(order.rejectReason).toBe("INSUFFICIENT_INVENTORY");
    expect(order.rejectedLine).toBe(2);

    expect(await inventoryOf(lamp)).toBe(2n);
    expect(await inventoryOf(desk)).toBe(0n);
    await readModelInventory(lamp, 2n);

    // The lamp's stream shows the reservation and its release for this order: nothing partial survives.
    const lampEvents = [];
    for await (const resolved of shop.store.client.readStream(`product-${lamp}`)) lampEvents.push(resolved.event!);
    const forOrder = lampEvents.filter((e) => (e.data as { orderId?: string }).orderId === placed.orderId).map((e) => e.type);
    expect(forOrder).toEqual(["eventmall.product.v1.StockReserved", "eventmall.product.v1.StockReleased"]);
  });

  it("cancels a confirmed order and releases its stock", async () => {
    await shop.orderCommandsAs(alice.token).cancelOrder({ orderId: firstOrder });
    await eventually(async () => ((await inventoryOf(desk)) === 1n ? true : undefined), "the desk's stock to come back");
    expect(await inventoryOf(lamp)).toBe(5n);
    await readModelInventory(lamp, 5n);
    await readModelInventory(desk, 1n);
    const order = await eventually(async () => {
      const { order } = await shop.orderQueriesAs(alice.token).getOrder({ orderId: firstOrder });
      return order?.status === OrderStatus.CANCELLED ? order : undefined;
    }, "the order to show as cancelled");
    expect(order.status).toBe(OrderStatus.CANCELLED);
    // Cancelling again changes nothing.
    await shop.orderCommandsAs(alice.token).cancelOrder({ orderId: firstOrder });
    expect(await inventoryOf(lamp)).toBe(5n);
  });

  it("cannot cancel once shipped (only an admin ships)", async () => {
    const { orderId } = await shop.orderCommandsAs(alice.token).placeOrder({ items: [{ productId: lamp, quantity: 1n }], delivery });
    expect((await orderOnceDecided(alice.token, orderId)).status).toBe(OrderStatus.CONFIRMED);
    expect((await failureOf(shop.orderCommandsAs(alice.token).shipOrder({ orderId }))).code).toBe(Code.PermissionDenied);
    await shop.orderCommandsAs(shop.adminToken).shipOrder({ orderId });
    const refused = await failureOf(shop.orderCommandsAs(alice.token).cancelOrder({ orderId }));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.findDetails(ErrorInfoSchema)[0]?.reason).toBe("ORDER_ALREADY_SHIPPED");
    expect(await inventoryOf(lamp)).toBe(4n);
  });

  it("answers bad requests with INVALID_ARGUMENT naming each field, unknown products with FAILED_PRECONDITION", async () => {
    const orders = shop.orderCommandsAs(alice.token);
    const bad = await failureOf(
      orders.placeOrder({ items: [{ productId: "nope", quantity: 1n }, { productId: lamp, quantity: 0n }], delivery: { address: " ", phone: "x", message: "" } }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    // The message alone (what grpcurl shows) names the fields too.
    expect(bad.rawMessage).toMatch(/^invalid PlaceOrder request: items\[0\]\.product_id: .*; items\[1\]\.quantity: .*; delivery\.address: .*; delivery\.phone: /);
    expect(bad.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual([
      "items[0].product_id",
      "items[1].quantity",
      "delivery.address",
      "delivery.phone",
    ]);
    expect((await failureOf(orders.placeOrder({ items: [], delivery }))).code).toBe(Code.InvalidArgument);
    const tooMany = Array.from({ length: 101 }, () => ({ productId: lamp, quantity: 1n }));
    expect((await failureOf(orders.placeOrder({ items: tooMany, delivery }))).code).toBe(Code.InvalidArgument);
    const merged = [{ productId: lamp, quantity: 6000n }, { productId: lamp, quantity: 6000n }];
    expect((await failureOf(orders.placeOrder({ items: merged, delivery }))).code).toBe(Code.InvalidArgument);

    const unknown = await failureOf(orders.placeOrder({ items: [{ productId: "00000000-0000-4000-8000-000000000000", quantity: 1n }], delivery }));
    expect(unknown.code).toBe(Code.FailedPrecondition);
    expect(unknown.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UNKNOWN_PRODUCT");

    expect((await failureOf(orders.cancelOrder({ orderId: "x" }))).code).toBe(Code.InvalidArgument);
    expect((await failureOf(orders.cancelOrder({ orderId: "00000000-0000-4000-8000-000000000000" }))).code).toBe(Code.NotFound);
    expect((await failureOf(shop.orderQueriesAs(alice.token).getOrder({ orderId: "00000000-0000-4000-8000-000000000000" }))).code).toBe(Code.NotFound);
    expect((await failureOf(shop.orderQueriesAs(alice.token).listMemberOrders({ pageToken: "garbage" }))).code).toBe(Code.InvalidArgument);
    expect((await failureOf(shop.orderQueriesAs(alice.token).listMemberOrders({ pageSize: 101 }))).code).toBe(Code.InvalidArgument);
  });

  it("keeps members apart: another member's order is PERMISSION_DENIED, no or bad token is UNAUTHENTICATED", async () => {
    const bob = await registerMember(shop, "bob_0002");
    const { orderId } = await shop.orderCommandsAs(alice.token).placeOrder({ items: [{ productId: lamp, quantity: 1n }], delivery });
    // An admin may read any order (and this waits for the read model to have it).
    const asAdmin = await eventually(async () => (await shop.orderQueriesAs(shop.adminToken).getOrder({ orderId }).catch(() => undefined))?.order, "the order in the read model");
    expect(asAdmin.memberId).toBe(alice.memberId);

    expect((await failureOf(shop.orderQueriesAs(bob.token).getOrder({ orderId }))).code).toBe(Code.PermissionDenied);
    expect((await failureOf(shop.orderCommandsAs(bob.token).cancelOrder({ orderId }))).code).toBe(Code.PermissionDenied);
    const bobsHistory = await shop.orderQueriesAs(bob.token).listMemberOrders({});
    expect(bobsHistory.orders).toEqual([]);

    for (const token of [undefined, "not-a-jwt"]) {
      expect((await failureOf(shop.orderCommandsAs(token).placeOrder({ items: [{ productId: lamp, quantity: 1n }], delivery }))).code).toBe(Code.Unauthenticated);
      expect((await failureOf(shop.orderCommandsAs(token).cancelOrder({ orderId }))).code).toBe(Code.Unauthenticated);
      expect((await failureOf(shop.orderQueriesAs(token).getOrder({ orderId }))).code).toBe(Code.Unauthenticated);
      expect((await failureOf(shop.orderQueriesAs(token).listMemberOrders({}))).code).toBe(Code.Unauthenticated);
    }
  });
});
