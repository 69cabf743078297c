// The same event history, projected into a SQLite and a PostgreSQL read database, answers every
// query identically: products in every sort, with filters and paging, members, orders, reports.
// The history comes from the real shop (commands, the stock-reservation process); both read
// databases are then built from the store's $all through the projector's apply path.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { FORWARDS, START } from "@eventstore/db-client";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemberQueryService, MemberStatus } from "../../gen/eventmall/member/v1/queries_pb";
import { OrderQueryService, OrderStatus } from "../../gen/eventmall/order/v1/queries_pb";
import { ProductQueryService, ProductSort } from "../../gen/eventmall/product/v1/queries_pb";
import { ReportQueryService } from "../../gen/eventmall/report/v1/queries_pb";
import { projections } from "../../services/projector/projections";
import { startQueryServer } from "../../services/query/server";
import { applyWithCheckpoint, type ProjectedEvent, type Projection } from "../../src/kernel/read/projector-checkpoint";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { createProduct, eventually, openShop, registerMember, type Shop } from "../order/shop";
import { createMigratedReadDb, READ_DB_PROVIDERS, type TestReadDb } from "../support/read-db";

const delivery = { address: "1 Main St", phone: "010-1234-5678", message: "" };
// Case, accents, LIKE specials, shared prefixes, equal prices: what collations and LIKE disagree on.
const PRODUCT_NAMES = ["apple", "Apple pie", "APRICOT", "Äpfel", "banana_split", "Banana", "50% off", "a\\b", "zebra", "Zebra crossing", "éclair", "eclair", "-dash", "_under"];

let shop: Shop;
const productIds: string[] = [];
const members: { memberId: string; token: string }[] = [];
const orderIds: string[] = [];
const sides: { provider: string; readDb: TestReadDb; db: ReadDb; close(): Promise<void>; url: string }[] = [];

function matches(projection: Projection, event: ProjectedEvent): boolean {
  const filter = projection.filter;
  return "streamPrefixes" in filter
    ? filter.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix))
    : filter.eventTypePrefixes.some((prefix) => event.type.startsWith(prefix));
}

async function history(): Promise<ProjectedEvent[]> {
  const events: ProjectedEvent[] = [];
  for await (const resolved of shop.store.client.readAll({ direction: FORWARDS, fromPosition: START })) {
    const e = resolved.event;
    if (!e || e.type.startsWith("$") || e.streamId.startsWith("$") || !e.position) continue;
    events.push({ id: e.id, streamId: e.streamId, revision: e.revision, type: e.type, data: e.data, metadata: e.metadata, created: e.created, position: e.position });
  }
  return events;
}

beforeAll(async () => {
  shop = await openShop();
  for (const [i, name] of PRODUCT_NAMES.entries()) {
    productIds.push(await createProduct(shop, name, BigInt(100 * (1 + (i % 3))), 50n));
  }
  await shop.productCommands.changeProductName({ productId: productIds[0]!, name: "Apple (green)" });
  await shop.productCommands.changeProductPrice({ productId: productIds[1]!, price: 250n });
  await shop.productCommands.increaseInventory({ productId: productIds[2]!, quantity: 7n });
  await shop.productCommands.decreaseInventory({ productId: productIds[3]!, quantity: 3n });
  for (const loginId of ["alice", "bob", "carol"]) members.push(await registerMember(shop, `${loginId}${Date.now() % 100000}`));
  await shop.members.changeProfile({ name: "Alice Liddell", address: "2 Side St" }, { headers: { authorization: `Bearer ${members[0]!.token}` } });
  for (const [i, member] of members.entries()) {
    const orders = shop.orderCommandsAs(member.token);
    orderIds.push((await orders.placeOrder({ items: [{ productId: productIds[i]!, quantity: 2n }, { productId: productIds[5]!, quantity: 1n }], delivery })).orderId);
  }
  orderIds.push((await shop.orderCommandsAs(members[1]!.token).placeOrder({ items: [{ productId: productIds[6]!, quantity: 1n }], delivery })).orderId);
  // Let the stock-reservation process decide every order, then cancel one and ship one.
  const decided = async (orderId: string) =>
    eventually(async () => {
      const { order } = await shop.orderQueriesAs(shop.adminToken).getOrder({ orderId }).catch(() => ({ order: undefined }));
      return order && order.status !== OrderStatus.PLACED ? order : undefined;
    }, `order ${orderId} decided`);
  for (const orderId of orderIds) await decided(orderId);
  await shop.orderCommandsAs(members[1]!.token).cancelOrder({ orderId: orderIds[1]! });
  await shop.orderCommandsAs(shop.adminToken).shipOrder({ orderId: orderIds[2]! });
  await shop.members.withdrawMember({ memberId: members[2]!.memberId }, { headers: { authorization: `Bearer ${shop.adminToken}` } });
  for (const orderId of orderIds) await decided(orderId);
  // Commands return once their events are stored: $all now holds the whole history (the
  // shop's own read model may still trail it; it is not compared).
  const events = await history();
  for (const provider of READ_DB_PROVIDERS) {
    const readDb = await createMigratedReadDb(provider);
    const db = await openReadDb(readDb.url);
    for (const event of events) {
      for (const projection of projections) {
        if (matches(projection, event)) await applyWithCheckpoint(db, projection, event);
      }
    }
    const server = await startQueryServer({ db, tokens: shop.tokens, port: 0, logger: pino({ level: "silent" }) });
    sides.push({ provider, readDb, db, url: server.url, close: () => server.close() });
  }
}, 240_000);

afterAll(async () => {
  for (const side of sides) {
    await side.close();
    await side.db.$disconnect();
    await side.readDb.drop();
  }
  await shop?.close();
}, 120_000);

const asAdmin = (): Interceptor => (next) => (request) => {
  request.header.set("authorization", `Bearer ${shop.adminToken}`);
  return next(request);
};

/** Calls `ask` against both read databases and expects the same answer (returned). */
async function same<T>(ask: (url: string) => Promise<T>): Promise<T> {
  const [sqlite, postgres] = await Promise.all(sides.map((side) => ask(side.url)));
  expect(postgres).toEqual(sqlite);
  return sqlite!;
}

describe("SQLite and PostgreSQL read models of one history", () => {
  it("list products identically in every sort, filter and page size", async () => {
    const sorts = [ProductSort.UNSPECIFIED, ProductSort.CREATED_DESC, ProductSort.NAME_ASC, ProductSort.PRICE_ASC, ProductSort.PRICE_DESC];
    for (const sort of sorts) {
      for (const nameContains of ["", "a", "APP", "%", "_", "\\", "é"]) {
        for (const pageSize of [3, 100]) {
          const pages = await same(async (baseUrl) => {
            const client = createClient(ProductQueryService, createGrpcTransport({ baseUrl }));
            const all = [];
            let pageToken = "";
            do {
              const page = await client.listProducts({ sort, nameContains, pageSize, pageToken });
              all.push(page);
              pageToken = page.nextPageToken;
            } while (pageToken !== "");
            return all;
          });
          if (nameContains === "" && pageSize === 100) expect(pages[0]!.products).toHaveLength(PRODUCT_NAMES.length);
        }
      }
    }
  }, 120_000);

  it("get every product identically", async () => {
    for (const productId of productIds) {
      const answer = await same((baseUrl) => createClient(ProductQueryService, createGrpcTransport({ baseUrl })).getProduct({ productId }));
      expect(answer.product?.productId).toBe(productId);
    }
  });

  it("get members and list withdrawn members identically", async () => {
    for (const { memberId } of members) {
      await same((baseUrl) => createClient(MemberQueryService, createGrpcTransport({ baseUrl, interceptors: [asAdmin()] })).getMember({ memberId }));
    }
    const withdrawn = await same((baseUrl) =>
      createClient(MemberQueryService, createGrpcTransport({ baseUrl, interceptors: [asAdmin()] })).listMembersWithdrawnSince({
        since: timestampFromDate(new Date(0)),
      }),
    );
    expect(withdrawn.members.map((m) => [m.memberId, m.status])).toEqual([[members[2]!.memberId, MemberStatus.WITHDRAWN]]);
  });

  it("get orders and list each member's orders identically", async () => {
    const statuses = [];
    for (const orderId of orderIds) {
      const { order } = await same((baseUrl) => createClient(OrderQueryService, createGrpcTransport({ baseUrl, interceptors: [asAdmin()] })).getOrder({ orderId }));
      statuses.push(order?.status);
    }
    expect(statuses).toContain(OrderStatus.CANCELLED);
    expect(statuses).toContain(OrderStatus.SHIPPED);
    for (const member of members.slice(0, 2)) {
      const bearer: Interceptor = (next) => (request) => {
        request.header.set("authorization", `Bearer ${member.token}`);
        return next(request);
      };
      for (const pageSize of [1, 20]) {
        await same((baseUrl) => createClient(OrderQueryService, createGrpcTransport({ baseUrl, interceptors: [bearer] })).listMemberOrders({ pageSize }));
      }
    }
  });

  it("report inventory movements identically", async () => {
    for (const productId of productIds.slice(0, 7)) {
      await same((baseUrl) => createClient(ReportQueryService, createGrpcTransport({ baseUrl, interceptors: [asAdmin()] })).getInventoryMovements({ productId }));
    }
  });
});
