// Secrets through the whole system (real processes, every process logging at trace level):
// no password appears in any event, log line or query response; the password hash appears only
// in the command side's credential table (never in an event, a log line or a response);
// tokens expire; another member's order is PERMISSION_DENIED.
import path from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EventStoreDBClient, START } from "@eventstore/db-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemberCommandService } from "../../gen/eventmall/member/v1/commands_pb";
import { GetMemberResponseSchema, MemberQueryService } from "../../gen/eventmall/member/v1/queries_pb";
import { OrderCommandService } from "../../gen/eventmall/order/v1/commands_pb";
import { GetOrderResponseSchema, ListMemberOrdersResponseSchema, OrderQueryService } from "../../gen/eventmall/order/v1/queries_pb";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { openReadDb } from "../../src/kernel/read/read-db";
import { pollUntil, startSuite, type RunningSuite } from "../e2e/suite";
import { recordFigures } from "./figures";

const TOKEN_TTL_SECONDS = 3;
let suite: RunningSuite;
const passwords: string[] = [];
const responses: string[] = [];

const bearer = (token: string): Interceptor => (next) => (request) => {
  request.header.set("authorization", `Bearer ${token}`);
  return next(request);
};

beforeAll(async () => {
  suite = await startSuite({ LOG_LEVEL: "trace", AUTH_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS) });
}, 180_000);

afterAll(async () => {
  await suite?.stop();
}, 60_000);

function clients(token?: string) {
  const interceptors = token ? [bearer(token)] : [];
  const command = createGrpcTransport({ baseUrl: suite.commandUrl, interceptors });
  const query = createGrpcTransport({ baseUrl: suite.queryUrl, interceptors });
  return {
    members: createClient(MemberCommandService, command),
    orders: createClient(OrderCommandService, command),
    products: createClient(ProductCommandService, command),
    memberQueries: createClient(MemberQueryService, query),
    orderQueries: createClient(OrderQueryService, query),
  };
}

async function codeOf(call: Promise<unknown>): Promise<Code | "OK"> {
  try {
    await call;
    return "OK";
  } catch (error) {
    if (error instanceof ConnectError) return error.code;
    throw error;
  }
}

async function register(loginId: string): Promise<{ memberId: string; password: string }> {
  const password = `pw-${loginId}-${crypto.randomUUID()}`;
  passwords.push(password);
  const { memberId } = await clients().members.registerMember({ loginId, name: `Member ${loginId}`, email: `${loginId}@example.com`, password, address: "1 Main St" });
  return { memberId, password };
}

const login = async (loginId: string, password: string) => (await clients().members.login({ loginId, password })).accessToken;

describe("secrets, token expiry and ownership", () => {
  it("keeps passwords out of events, logs and responses; expires tokens; refuses another member's order", async () => {
    const alice = await register("alice_secret");
    const bob = await register("bob_secret");
    // A password change: old and new both travel through the system.
    const newPassword = `pw-new-${crypto.randomUUID()}`;
    passwords.push(newPassword);
    await clients(await login("alice_secret", alice.password)).members.changePassword({ oldPassword: alice.password, newPassword });
    alice.password = newPassword;

    const admin = clients(suite.adminToken);
    const { productId } = await admin.products.createProduct({ name: "Secret-safe kettle", price: 1200n, inventory: 50n, imagePath: "", description: "k" });
    const aliceOrders = clients(await login("alice_secret", alice.password)).orders;
    const placed = await pollUntil(
      async () => aliceOrders.placeOrder({ items: [{ productId, quantity: 2n }], delivery: { address: "1 Main St", phone: "010-1234-5678", message: "" } }),
      "the order catalog to know the product",
    );

    // Ownership: Bob may neither read nor cancel Alice's order, nor read Alice's profile.
    const bobClients = clients(await login("bob_secret", bob.password));
    expect(await codeOf(bobClients.orderQueries.getOrder({ orderId: placed.orderId }))).toBe(Code.PermissionDenied);
    expect(await codeOf(bobClients.orders.cancelOrder({ orderId: placed.orderId }))).toBe(Code.PermissionDenied);
    expect(await codeOf(bobClients.memberQueries.getMember({ memberId: alice.memberId }))).toBe(Code.PermissionDenied);
    const bobsList = await bobClients.orderQueries.listMemberOrders({ pageSize: 50 });
    expect(bobsList.orders.map((o) => o.orderId)).not.toContain(placed.orderId);

    // Alice's own reads succeed; keep every response for the scan below.
    const aliceToken = await login("alice_secret", alice.password);
    const aliceClients = clients(aliceToken);
    const order = await pollUntil(async () => (await aliceClients.orderQueries.getOrder({ orderId: placed.orderId })).order ? await aliceClients.orderQueries.getOrder({ orderId: placed.orderId }) : undefined, "alice's order in the read model");
    responses.push(toJsonString(GetOrderResponseSchema, order));
    responses.push(toJsonString(ListMemberOrdersResponseSchema, await aliceClients.orderQueries.listMemberOrders({ pageSize: 50 })));
    const member = await pollUntil(async () => aliceClients.memberQueries.getMember({ memberId: alice.memberId }), "alice in the member read model");
    responses.push(toJsonString(GetMemberResponseSchema, member));

    // Tokens expire: the same token is refused once its TTL has passed.
    await new Promise((resolve) => setTimeout(resolve, (TOKEN_TTL_SECONDS + 1.5) * 1000));
    expect(await codeOf(aliceClients.memberQueries.getMember({ memberId: alice.memberId }))).toBe(Code.Unauthenticated);
    expect(await codeOf(aliceClients.orders.cancelOrder({ orderId: placed.orderId }))).toBe(Code.Unauthenticated);
    // A forged token (signed with another secret) and a mangled one are refused too.
    expect(await codeOf(clients(`${aliceToken.slice(0, -4)}AAAA`).memberQueries.getMember({ memberId: alice.memberId }))).toBe(Code.Unauthenticated);

    // Scan every event in $all.
    const store = EventStoreDBClient.connectionString(suite.eventStoreConnectionString);
    const eventTexts: string[] = [];
    let eventsScanned = 0;
    try {
      for await (const resolved of store.readAll({ fromPosition: START })) {
        const event = resolved.event;
        if (!event) continue;
        eventsScanned++;
        const text = `${event.type} ${toText(event.data)} ${toText(event.metadata)}`;
        for (const password of passwords) expect(text, `event ${event.type} in ${event.streamId}`).not.toContain(password);
        eventTexts.push(text);
      }
    } finally {
      await store.dispose();
    }
    // The hashes live in the command side's credential table (read db file), never in an event.
    const credentials = await openReadDb(`file:${path.join(suite.env.DATA_DIR!, "read.db")}`);
    const hashes = (await credentials.memberCredential.findMany()).map((row) => row.passwordHash);
    await credentials.$disconnect();
    expect(hashes).toHaveLength(2);
    const logs = suite.output.join("\n");
    expect(logs.length).toBeGreaterThan(0);
    expect(suite.output.some((line) => /"level":(10|20)\b/.test(line))).toBe(true); // trace/debug lines were captured
    for (const password of passwords) {
      expect(logs).not.toContain(password);
      for (const response of responses) expect(response).not.toContain(password);
    }
    for (const hash of hashes) {
      expect(logs).not.toContain(hash);
      for (const text of eventTexts) expect(text).not.toContain(hash);
      for (const response of responses) expect(response).not.toContain(hash);
    }
    // No field that could carry a secret: only timestamps about one (e.g. passwordChangedAt).
    for (const response of responses) expect(secretLookingKeys(JSON.parse(response))).toEqual([]);
    recordFigures("secrets (light)", { eventsScanned, logLinesScanned: suite.output.length, responsesScanned: responses.length, passwordsChecked: passwords.length, hashesChecked: hashes.length });
  }, 120_000);
});

function toText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  return typeof value === "string" ? value : JSON.stringify(value ?? "");
}

function secretLookingKeys(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(secretLookingKeys);
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, inner]) => [
    ...(/password|hash|salt|secret/i.test(key) && !/At$/.test(key) ? [key] : []),
    ...secretLookingKeys(inner),
  ]);
}
