// 20 concurrent orders compete for the last 10 units: exactly 10 are sold, stock never goes
// below zero, 10 orders are confirmed and the other 10 rejected (by the stock reservation) or
// refused at once (PlaceOrder, once the catalog shows the stock gone), and every view agrees.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb";
import { OrderStatus, type Order } from "../../gen/eventmall/order/v1/queries_pb";
import { createProduct, eventually, openShop, registerMember, type Shop } from "./shop";

let shop: Shop;

beforeAll(async () => {
  shop = await openShop();
}, 60_000);

afterAll(async () => {
  await shop?.close();
});

const delivery = { address: "1 Main St", phone: "010-1234-5678", message: "" };

async function allDecided(token: string, count: number): Promise<Order[]> {
  return eventually(async () => {
    const orders: Order[] = [];
    let pageToken = "";
    do {
      const page = await shop.orderQueriesAs(token).listMemberOrders({ pageSize: 4, pageToken });
      orders.push(...page.orders);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return orders.length === count && orders.every((o) => o.status !== OrderStatus.PLACED) ? orders : undefined;
  }, `${count} decided orders`, 60_000);
}

describe("competing for the last units", () => {
  it("sells exactly the stock there is", async () => {
    const alice = await registerMember(shop, "alice_01");
    const bob = await registerMember(shop, "bob_0002");
    const lamp = await createProduct(shop, "Lamp", 1500n, 13n);
    // An earlier sale leaves the last 10 units.
    const { orderId: first } = await shop.orderCommandsAs(bob.token).placeOrder({ items: [{ productId: lamp, quantity: 3n }], delivery });
    await eventually(async () => ((await shop.products.load(lamp)).state as { inventory?: bigint }).inventory === 10n || undefined, "the first sale");

    const buyers = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? alice : bob));
    const attempts = await Promise.allSettled(buyers.map((buyer) => shop.orderCommandsAs(buyer.token).placeOrder({ items: [{ productId: lamp, quantity: 1n }], delivery })));
    // A late attempt may already see the catalog empty: refused at once, for lack of stock only.
    const refused = attempts.flatMap((a) => (a.status === "rejected" ? [ConnectError.from(a.reason)] : []));
    for (const error of refused) {
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("INSUFFICIENT_INVENTORY");
    }
    const placed = attempts.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
    expect(new Set(placed.map((p) => p.orderId)).size).toBe(20 - refused.length);
    const placedBy = (buyer: { token: string }) => attempts.filter((a, i) => a.status === "fulfilled" && buyers[i] === buyer).length;

    const orders = [...(await allDecided(alice.token, placedBy(alice))), ...(await allDecided(bob.token, placedBy(bob) + 1))].filter((o) => o.orderId !== first);
    expect(orders.filter((o) => o.status === OrderStatus.CONFIRMED)).toHaveLength(10);
    const rejected = orders.filter((o) => o.status === OrderStatus.REJECTED);
    expect(rejected.length + refused.length).toBe(10);
    if (rejected.length > 0) expect(new Set(rejected.map((o) => `${o.rejectReason}/${o.rejectedLine}`))).toEqual(new Set(["INSUFFICIENT_INVENTORY/1"]));

    // The product stream: running stock never negative; held reservations are exactly the sold units.
    let stock = 0n;
    let held = 0n;
    for await (const resolved of shop.store.client.readStream(`product-${lamp}`)) {
      const event = resolved.event!;
      const data = event.data as { inventory?: string; quantity?: string };
      if (event.type.endsWith("ProductCreated")) stock = BigInt(data.inventory!);
      if (event.type.endsWith("StockReserved")) (stock -= BigInt(data.quantity!)), (held += BigInt(data.quantity!));
      if (event.type.endsWith("StockReleased")) (stock += BigInt(data.quantity!)), (held -= BigInt(data.quantity!));
      expect(stock).toBeGreaterThanOrEqual(0n);
    }
    expect(stock).toBe(0n);
    expect(held).toBe(13n);
    const { state } = await shop.products.load(lamp);
    expect(state).toMatchObject({ exists: true, inventory: 0n });

    // Both read models (product's and the order catalog) agree.
    await eventually(async () => {
      const { product } = await shop.productQueries.getProduct({ productId: lamp });
      const catalog = await shop.db.orderCatalogProduct.findUnique({ where: { id: lamp } });
      return product?.inventory === 0n && catalog?.inventory === 0n ? true : undefined;
    }, "read models to show no stock");
  }, 120_000);

  it("pages a member's history newest first without gaps or repeats", async () => {
    const carol = await registerMember(shop, "carol_03");
    const mug = await createProduct(shop, "Mug", 900n, 100n);
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) {
      ids.push((await shop.orderCommandsAs(carol.token).placeOrder({ items: [{ productId: mug, quantity: 1n }], delivery })).orderId);
    }
    const history = await allDecided(carol.token, 9);
    expect(history.map((o) => o.orderId).sort()).toEqual([...ids].sort());
    const placedAt = history.map((o) => o.placedAt!.seconds * 1_000_000_000n + BigInt(o.placedAt!.nanos));
    placedAt.slice(1).forEach((at, i) => expect(at).toBeLessThanOrEqual(placedAt[i]!));
    // Placed one after another: newest first is the reverse of placing (ties broken by id).
    expect(history.at(0)!.orderId).toBe(ids.at(-1));
  }, 60_000);
});
