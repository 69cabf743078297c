// ProductCommandService end to end: a real gRPC client, the command server in-process,
// and the embedded store behind it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { FORWARDS, START, StreamNotFoundError } from "@eventstore/db-client";
import { pino } from "pino";
import { RevisionConflictSchema } from "../../gen/eventmall/common/v1/command_pb";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { decodePositionToken } from "../../src/kernel/read/read-your-writes";
import { adminToken, bearer, testTokenService } from "../kernel/auth-fixtures";
import { startCommandServer, type RunningCommandServer } from "../../services/command/server";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let store: StoreUnderTest;
let server: RunningCommandServer;
let products: Client<typeof ProductCommandService>;
const tokens = testTokenService();

beforeAll(async () => {
  store = await openStore();
  server = await startCommandServer({
    tokens,
    contexts: ["product"],
    eventStore: store.client,
    host: "127.0.0.1",
    port: 0,
    snapshotEvery: 100,
    maxConflictRetries: 5,
    logger: pino({ level: "silent" }),
  });
  const admin = await adminToken(tokens);
  products = createClient(ProductCommandService, createGrpcTransport({ baseUrl: server.url, interceptors: [bearer(admin)] }));
});

afterAll(async () => {
  await server?.close();
  await store?.close();
});

async function storedEvents(productId: string) {
  const events = [];
  try {
    for await (const resolved of store.client.readStream(`product-${productId}`, { fromRevision: START, direction: FORWARDS })) {
      events.push(resolved.event!);
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return events;
}

async function failureOf(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConnectError)) throw new Error(`expected a ConnectError, got ${String(error)}`);
  return error;
}

async function createLamp(inventory = 5n) {
  return products.createProduct({ name: "Lamp", price: 1500n, inventory, imagePath: "/img/lamp.png", description: "A lamp" });
}

describe("ProductCommandService", () => {
  it("creates a product with a server-generated id and request metadata on the event", async () => {
    const response = await products.createProduct(
      { name: "  Lamp ", price: 1500n, inventory: 5n, imagePath: "/img/lamp.png", description: "A lamp" },
      { headers: { "x-correlation-id": "checkout-42" } },
    );
    expect(response.productId).toMatch(UUID);
    expect(response.result?.streamRevision).toBe(0n);
    expect(response.result?.commitPosition).toBeGreaterThanOrEqual(0n);
    expect(decodePositionToken(response.result!.positionToken)).toBe(response.result?.commitPosition);

    const [created] = await storedEvents(response.productId);
    expect(created.type).toBe("eventmall.product.v1.ProductCreated");
    expect(created.data).toMatchObject({ productId: response.productId, name: "Lamp", price: "1500", inventory: "5" });
    const metadata = created.metadata as { correlationId: string; causationId: string };
    expect(metadata.correlationId).toBe("checkout-42");
    expect(metadata.causationId).toMatch(UUID);
  });

  it("gives each request its own causation id and a fresh correlation id when none is usable", async () => {
    const { productId } = await products.createProduct(
      { name: "Rug", price: 10n, inventory: 1n },
      { headers: { "x-correlation-id": "not acceptable\u00e9" } },
    );
    await products.increaseInventory({ productId, quantity: 1n });
    const [first, second] = (await storedEvents(productId)).map((e) => e.metadata as { correlationId: string; causationId: string });
    expect(first.correlationId).toMatch(UUID);
    expect(second.correlationId).toMatch(UUID);
    expect(first.correlationId).not.toBe(second.correlationId);
    expect(first.causationId).not.toBe(second.causationId);
  });

  it("changes name and price and moves inventory, reporting each new revision", async () => {
    const { productId, result } = await createLamp();
    const renamed = await products.changeProductName({ productId, name: "Desk lamp" });
    expect(renamed.result?.streamRevision).toBe(1n);
    expect(renamed.result!.commitPosition).toBeGreaterThan(result!.commitPosition);

    const repriced = await products.changeProductPrice({ productId, price: 1200n, expectedRevision: 1n });
    expect(repriced.result?.streamRevision).toBe(2n);

    const increased = await products.increaseInventory({ productId, quantity: 7n });
    expect(increased).toMatchObject({ inventory: 12n, result: { streamRevision: 3n } });

    const decreased = await products.decreaseInventory({ productId, quantity: 12n });
    expect(decreased).toMatchObject({ inventory: 0n, result: { streamRevision: 4n } });

    expect((await storedEvents(productId)).map((e) => e.type)).toEqual([
      "eventmall.product.v1.ProductCreated",
      "eventmall.product.v1.ProductNameChanged",
      "eventmall.product.v1.ProductPriceChanged",
      "eventmall.product.v1.InventoryIncreased",
      "eventmall.product.v1.InventoryDecreased",
    ]);
  });

  it("refuses to decrease below zero with FAILED_PRECONDITION and appends nothing", async () => {
    const { productId } = await createLamp(3n);
    const error = await failureOf(products.decreaseInventory({ productId, quantity: 4n }));
    expect(error.code).toBe(Code.FailedPrecondition);
    const events = await storedEvents(productId);
    expect(events).toHaveLength(1);
    expect(events.at(-1)!.revision).toBe(0n);
  });

  it("reports every bad field of a request at once with INVALID_ARGUMENT", async () => {
    const error = await failureOf(products.createProduct({ name: "  ", price: 0n, inventory: -1n }));
    expect(error.code).toBe(Code.InvalidArgument);
    const [badRequest] = error.findDetails(BadRequestSchema);
    expect(badRequest.fieldViolations.map((v) => v.field)).toEqual(["name", "price", "inventory"]);

    const second = await failureOf(products.changeProductPrice({ productId: "not-a-uuid", price: 0n }));
    expect(second.code).toBe(Code.InvalidArgument);
    expect(second.findDetails(BadRequestSchema)[0].fieldViolations.map((v) => v.field)).toEqual(["product_id", "price"]);

    const tooLong = await failureOf(products.changeProductName({ productId: crypto.randomUUID(), name: "x".repeat(201) }));
    expect(tooLong.code).toBe(Code.InvalidArgument);
  });

  it("answers RESOURCE_EXHAUSTED when the events would exceed the store's append size", async () => {
    const error = await failureOf(products.createProduct({ name: "Big", price: 1n, inventory: 1n, description: "d".repeat(1_500_000) }));
    expect(error.code).toBe(Code.ResourceExhausted);
  });

  it("answers NOT_FOUND for an unknown product", async () => {
    const error = await failureOf(products.increaseInventory({ productId: crypto.randomUUID(), quantity: 1n }));
    expect(error.code).toBe(Code.NotFound);
  });

  it("answers ABORTED with a RevisionConflict when expected_revision is stale", async () => {
    const { productId } = await createLamp();
    await products.changeProductName({ productId, name: "Lamp II" }); // revision 1

    const error = await failureOf(products.changeProductPrice({ productId, price: 99n, expectedRevision: 0n }));
    expect(error.code).toBe(Code.Aborted);
    const [conflict] = error.findDetails(RevisionConflictSchema);
    expect(conflict).toMatchObject({ streamName: `product-${productId}`, expectedRevision: 0n, actualRevision: 1n });
    expect(await storedEvents(productId)).toHaveLength(2);

    const missing = crypto.randomUUID();
    const onMissing = await failureOf(products.changeProductPrice({ productId: missing, price: 99n, expectedRevision: 3n }));
    expect(onMissing.code).toBe(Code.Aborted);
    expect(onMissing.findDetails(RevisionConflictSchema)[0].actualRevision).toBeUndefined();
  });
});

describe("ProductCommandService authorization", () => {
  const clientWith = (token?: string) =>
    createClient(ProductCommandService, createGrpcTransport({ baseUrl: server.url, interceptors: token === undefined ? [] : [bearer(token)] }));

  it("answers UNAUTHENTICATED without a token or with a bad one, and writes nothing", async () => {
    for (const client of [clientWith(), clientWith("not-a-token"), clientWith(await adminToken(testTokenService()))]) {
      const error = await failureOf(client.createProduct({ name: "Lamp", price: 1n, inventory: 1n }));
      expect(error.code).toBe(Code.Unauthenticated);
    }
    const { productId } = await createLamp();
    const error = await failureOf(clientWith().increaseInventory({ productId, quantity: 1n }));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(await storedEvents(productId)).toHaveLength(1);
  });

  it("answers PERMISSION_DENIED for a member token on every RPC", async () => {
    const { productId } = await createLamp();
    const member = clientWith((await tokens.issue({ subject: crypto.randomUUID(), roles: ["member"] })).token);
    const calls = [
      member.createProduct({ name: "Lamp", price: 1n, inventory: 1n }),
      member.changeProductName({ productId, name: "Mine" }),
      member.changeProductPrice({ productId, price: 1n }),
      member.increaseInventory({ productId, quantity: 1n }),
      member.decreaseInventory({ productId, quantity: 1n }),
    ];
    for (const call of calls) expect((await failureOf(call)).code).toBe(Code.PermissionDenied);
    expect(await storedEvents(productId)).toHaveLength(1);
  });
});
