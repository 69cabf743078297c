// With the product command and query services stopped, members still order: PlaceOrder prices
// from the order context's own catalog, and the stock reservation (run by the projector, not by
// the product services) takes the stock and confirms.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { OrderStatus } from "../../gen/eventmall/order/v1/queries_pb";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { ProductQueryService } from "../../gen/eventmall/product/v1/queries_pb";
import { createProduct, eventually, openShop, registerMember, type Shop } from "./shop";

let shop: Shop;

beforeAll(async () => {
  shop = await openShop();
}, 60_000);

afterAll(async () => {
  await shop?.close();
});

async function codeOf(call: Promise<unknown>): Promise<Code | undefined> {
  return call.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error).code,
  );
}

describe("ordering while the product services are down", () => {
  it("places, prices and confirms orders from the order context's own catalog", async () => {
    const member = await registerMember(shop, "dora_004");
    const lamp = await createProduct(shop, "Lamp", 1500n, 4n);
    const desk = await createProduct(shop, "Desk", 20000n, 2n);
    await shop.productCommands.changeProductPrice({ productId: lamp, price: 1700n });
    await eventually(async () => ((await shop.db.orderCatalogProduct.findUnique({ where: { id: lamp } }))?.price === 1700n ? true : undefined), "the new price in the catalog");

    await shop.stopProductServers();
    // Nothing listens there any more (fresh clients: a reused HTTP/2 session reports INTERNAL).
    const productCommands = createClient(ProductCommandService, createGrpcTransport({ baseUrl: shop.productUrls.commands }));
    const productQueries = createClient(ProductQueryService, createGrpcTransport({ baseUrl: shop.productUrls.queries }));
    expect(await codeOf(productCommands.createProduct({ name: "Chair", price: 1n, inventory: 1n, imagePath: "", description: "" }))).toBe(Code.Unavailable);
    expect(await codeOf(productQueries.getProduct({ productId: lamp }))).toBe(Code.Unavailable);

    const placed = await shop.orderCommandsAs(member.token).placeOrder({
      items: [
        { productId: lamp, quantity: 3n },
        { productId: desk, quantity: 1n },
      ],
      delivery: { address: "1 Main St", phone: "010-1234-5678", message: "" },
    });
    expect(placed.total).toBe(3n * 1700n + 20000n);

    const order = await eventually(async () => {
      const { order } = await shop.orderQueriesAs(member.token).getOrder({ orderId: placed.orderId }).catch(() => ({ order: undefined }));
      return order && order.status !== OrderStatus.PLACED ? order : undefined;
    }, "the order to be decided");
    expect(order.status).toBe(OrderStatus.CONFIRMED);
    expect(order.lines.map((l) => [l.productName, l.unitPrice])).toEqual([
      ["Lamp", 1700n],
      ["Desk", 20000n],
    ]);

    expect((await shop.products.load(lamp)).state).toMatchObject({ inventory: 1n });
    expect((await shop.products.load(desk)).state).toMatchObject({ inventory: 1n });
    // The order context's catalog follows the reservations too.
    await eventually(async () => ((await shop.db.orderCatalogProduct.findUnique({ where: { id: lamp } }))?.inventory === 1n ? true : undefined), "catalog stock");
  }, 60_000);
});
