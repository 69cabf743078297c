// GetOrder's wait_for_outcome against a real query server and read db: it answers as soon as the
// order leaves PLACED, answers a still-PLACED order as it is when its bound is over (never an
// error), and answers at once for an order already decided. Order events are applied by the order
// projection itself, as the projector would.
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { OrderConfirmedSchema, OrderPlacedSchema, OrderRejectedSchema } from "../../gen/eventmall/order/v1/events_pb";
import { OrderQueryService, OrderStatus } from "../../gen/eventmall/order/v1/queries_pb";
import { ADMIN_ROLE, createTokenService } from "../../src/kernel/auth/auth";
import { bind, startGrpcServer, type GrpcServer } from "../../src/kernel/grpc/server";
import type { ProjectedEvent } from "../../src/kernel/read/projector";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { orderProjection } from "../../src/order/projection";
import { orderQueryService } from "../../src/order/queries";
import { bearer } from "../kernel/auth-fixtures";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";

const OUTCOME_WAIT_MS = 600;
let database: TestReadDb;
let db: ReadDb;
let server: GrpcServer;
let orders: Client<typeof OrderQueryService>;
let position = 0n;

beforeAll(async () => {
  database = await createMigratedReadDb("sqlite");
  db = await openReadDb(database.url);
  const tokens = createTokenService({ dataDir: tmpdir(), auth: { tokenSecret: randomBytes(32).toString("base64url"), tokenTtlSeconds: 3600 } });
  const { token } = await tokens.issue({ subject: "operator", roles: [ADMIN_ROLE] });
  server = await startGrpcServer({
    name: "outcome-wait-test",
    port: 0,
    logger: pino({ level: "silent" }),
    services: [bind(OrderQueryService, orderQueryService(db, tokens, { maxOutcomeWaitMs: OUTCOME_WAIT_MS }))],
  });
  orders = createClient(OrderQueryService, createGrpcTransport({ baseUrl: server.url, interceptors: [bearer(token)] }));
});

afterAll(async () => {
  await server?.close();
  await db?.$disconnect();
  await database?.drop();
});

const at = timestampFromDate(new Date("2026-05-01T10:00:00Z"));

function event<D extends DescMessage>(orderId: string, revision: bigint, desc: D, message: MessageShape<D>): ProjectedEvent {
  position += 100n;
  return {
    id: `event-${position}`,
    streamId: `order-${orderId}`,
    revision,
    type: desc.typeName,
    data: toJson(desc, message),
    metadata: {},
    created: new Date("2026-05-01T10:00:00Z"),
    position: { commit: position, prepare: position },
  };
}

const apply = (e: ProjectedEvent) => db.$transaction((tx) => orderProjection.apply(tx, e));

async function placed(orderId: string): Promise<void> {
  const line = { line: 1, productId: "p-1", productName: "Lamp", unitPrice: 1500n, quantity: 1n, lineTotal: 1500n };
  const message = create(OrderPlacedSchema, { orderId, memberId: "member-1", lines: [line], total: 1500n, delivery: { address: "1 Main St", phone: "010-1234-5678" }, placedAt: at });
  await apply(event(orderId, 0n, OrderPlacedSchema, message));
}

describe("GetOrder with wait_for_outcome", () => {
  it("answers once the order is confirmed, not before", async () => {
    const orderId = "7c3f4e5d-6c7b-4a80-9b09-887766554433";
    await placed(orderId);
    expect((await orders.getOrder({ orderId })).order?.status).toBe(OrderStatus.PLACED);

    let confirmedAt = 0;
    const waiting = orders.getOrder({ orderId, waitForOutcome: true });
    setTimeout(() => {
      confirmedAt = Date.now();
      void apply(event(orderId, 1n, OrderConfirmedSchema, create(OrderConfirmedSchema, { orderId, confirmedAt: at })));
    }, 150);
    const { order } = await waiting;
    expect(order?.status).toBe(OrderStatus.CONFIRMED);
    expect(confirmedAt).toBeGreaterThan(0);
  });

  it("answers a rejected order with its reason and line at once", async () => {
    const orderId = "8d4f5e6d-7c8b-4a91-8c10-998877665544";
    await placed(orderId);
    await apply(event(orderId, 1n, OrderRejectedSchema, create(OrderRejectedSchema, { orderId, reason: "INSUFFICIENT_INVENTORY", line: 1, detail: "none left", rejectedAt: at })));
    const { order } = await orders.getOrder({ orderId, waitForOutcome: true });
    expect(order).toMatchObject({ status: OrderStatus.REJECTED, rejectReason: "INSUFFICIENT_INVENTORY", rejectedLine: 1 });
  });

  it("answers a still-PLACED order as it is once its bound is over (the server's, or the caller's deadline)", async () => {
    const orderId = "9e5f6e7d-8c9b-4aa2-9d21-aa9988776655";
    await placed(orderId);
    const started = Date.now();
    const { order } = await orders.getOrder({ orderId, waitForOutcome: true });
    expect(order?.status).toBe(OrderStatus.PLACED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(OUTCOME_WAIT_MS - 20);

    // A caller deadline shorter than the server's bound: answered within it, not DEADLINE_EXCEEDED.
    const short = await orders.getOrder({ orderId, waitForOutcome: true }, { timeoutMs: 300 });
    expect(short.order?.status).toBe(OrderStatus.PLACED);
  });
});
