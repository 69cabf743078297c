// The seed's demo through real processes started like `npm start`: the command process prices
// orders from the read database, the projector process runs the stock reservation, the query
// process serves "my page".
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemberCommandService } from "../../gen/eventmall/member/v1/commands_pb";
import { OrderCommandService } from "../../gen/eventmall/order/v1/commands_pb";
import { OrderQueryService, OrderStatus } from "../../gen/eventmall/order/v1/queries_pb";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { ProductQueryService } from "../../gen/eventmall/product/v1/queries_pb";
import { pollUntil, startSuite, type RunningSuite } from "../e2e/suite";
import { bearer } from "../kernel/auth-fixtures";

describe("ordering through real processes", () => {
  let suite: RunningSuite;
  const transport = (url: string, token?: string) => createGrpcTransport({ baseUrl: url, interceptors: token ? [bearer(token)] : [] });

  beforeAll(async () => {
    suite = await startSuite();
  }, 180_000);
  afterAll(async () => {
    await suite?.stop();
  }, 60_000);

  it("registers, orders, takes the stock, confirms, and shows the order on the member's page", async () => {
    const members = createClient(MemberCommandService, transport(suite.commandUrl));
    const password = "e2e-password-1";
    await members.registerMember({ loginId: "buyer_1", name: "Buyer", email: "buyer@example.com", password, address: "1 Market St" });
    const { accessToken } = await members.login({ loginId: "buyer_1", password });

    const products = createClient(ProductCommandService, transport(suite.commandUrl, suite.adminToken));
    const { productId } = await products.createProduct({ name: "Kettle", price: 3000n, inventory: 3n, imagePath: "", description: "" });

    const orders = createClient(OrderCommandService, transport(suite.commandUrl, accessToken));
    const delivery = { address: "1 Market St", phone: "010-0000-0000", message: "" };
    // The order catalog is a projection: retry until it knows the new product.
    const placed = await pollUntil(() => orders.placeOrder({ items: [{ productId, quantity: 2n }], delivery }), "the product in the order catalog");
    expect(placed.total).toBe(6000n);

    const queries = createClient(OrderQueryService, transport(suite.queryUrl, accessToken));
    const order = await pollUntil(
      () => queries.getOrder({ orderId: placed.orderId }).then((r) => (r.order?.status === OrderStatus.CONFIRMED ? r.order : undefined)),
      "the order confirmed",
    );
    expect(order.lines[0]).toMatchObject({ productName: "Kettle", unitPrice: 3000n, quantity: 2n });
    const history = await queries.listMemberOrders({});
    expect(history.orders.map((o) => o.orderId)).toEqual([placed.orderId]);

    const productQueries = createClient(ProductQueryService, transport(suite.queryUrl));
    await pollUntil(() => productQueries.getProduct({ productId }).then((r) => (r.product?.inventory === 1n ? true : undefined)), "stock down to 1");
  }, 120_000);
});
