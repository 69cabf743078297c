// The product slice end to end through real processes: command service → event store → projector →
// read db → query service, all started by the same code as `npm start`.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EventStoreDBClient } from "@eventstore/db-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { ProductQueryService, type Product } from "../../gen/eventmall/product/v1/queries_pb";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb";
import { bearer } from "../kernel/auth-fixtures";
import { pollUntil, startSuite, type RunningSuite } from "./suite";

const run = promisify(execFile);

describe("product end to end through real processes", () => {
  let suite: RunningSuite;
  let commands: Client<typeof ProductCommandService>;
  let queries: Client<typeof ProductQueryService>;

  beforeAll(async () => {
    suite = await startSuite();
    const asAdmin = bearer(suite.adminToken);
    commands = createClient(ProductCommandService, createGrpcTransport({ baseUrl: suite.commandUrl, interceptors: [asAdmin] }));
    queries = createClient(ProductQueryService, createGrpcTransport({ baseUrl: suite.queryUrl }));
  }, 180_000);
  afterAll(() => suite?.stop(), 60_000);

  const projected = (productId: string, until: (p: Product) => boolean = () => true) =>
    pollUntil(async () => {
      const { product } = await queries.getProduct({ productId });
      return product && until(product) ? product : undefined;
    }, `product ${productId} in the query service`);

  it("creates a product on the command side and serves it from the query side", async () => {
    const created = await commands.createProduct({
      name: "Enamel mug",
      price: 12_000n,
      inventory: 5n,
      imagePath: "/img/mug.png",
      description: "Holds 350 ml",
    });
    expect(created.productId).toMatch(/^[0-9a-f-]{36}$/);
    const product = await projected(created.productId);
    expect(product).toMatchObject({
      productId: created.productId,
      name: "Enamel mug",
      price: 12_000n,
      inventory: 5n,
      imagePath: "/img/mug.png",
      description: "Holds 350 ml",
      revision: 0n,
    });
    expect(product.createdAt?.seconds).toBeGreaterThan(0n);
  });

  it("rejects a decrease below zero with FAILED_PRECONDITION and changes nothing", async () => {
    const { productId } = await commands.createProduct({ name: "Teapot", price: 30_000n, inventory: 3n });
    await projected(productId);

    const error = await commands.decreaseInventory({ productId, quantity: 4n }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.FailedPrecondition);
    expect(error?.findDetails(ErrorInfoSchema)[0]?.reason).toBeTruthy();

    // Command side: the stream still holds only the creation event.
    const store = EventStoreDBClient.connectionString(suite.eventStoreConnectionString);
    try {
      const events = [];
      for await (const resolved of store.readStream(`product-${productId}`)) events.push(resolved.event?.type);
      expect(events).toEqual(["eventmall.product.v1.ProductCreated"]);
    } finally {
      await store.dispose();
    }
    // Query side: unchanged.
    expect((await queries.getProduct({ productId })).product).toMatchObject({ inventory: 3n, revision: 0n });
    // And the aggregate still decides from inventory 3: taking all 3 works and leaves 0.
    expect((await commands.decreaseInventory({ productId, quantity: 3n })).inventory).toBe(0n);
    expect(await projected(productId, (p) => p.revision === 1n)).toMatchObject({ inventory: 0n });
  });

  it("describes both services by reflection and reports them healthy", async () => {
    for (const [url, service] of [
      [suite.commandUrl, "eventmall.product.v1.ProductCommandService"],
      [suite.queryUrl, "eventmall.product.v1.ProductQueryService"],
    ] as const) {
      const transport = createGrpcTransport({ baseUrl: url });
      const reflection = createClient(ServerReflection, transport);
      const names: string[] = [];
      for await (const response of reflection.serverReflectionInfo(
        (async function* () {
          yield { messageRequest: { case: "listServices" as const, value: "" } };
        })(),
      )) {
        if (response.messageResponse.case === "listServicesResponse") {
          names.push(...response.messageResponse.value.service.map((s) => s.name));
        }
      }
      expect(names).toEqual(
        expect.arrayContaining([
          service,
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection",
        ]),
      );
      const health = createClient(Health, transport);
      expect((await health.check({ service })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    }
    const listed = await run("npx", ["buf", "curl", "--protocol", "grpc", "--list-methods", suite.commandUrl]);
    expect(listed.stdout).toContain("eventmall.product.v1.ProductCommandService/DecreaseInventory");
  }, 60_000);

  it("answers Connect JSON over HTTP/1.1 (fetch) on both services", async () => {
    const post = async (url: string, method: string, body: unknown) => {
      const response = await fetch(`${url}/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json", "connect-protocol-version": "1", authorization: `Bearer ${suite.adminToken}` },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    const created = await post(suite.commandUrl, "eventmall.product.v1.ProductCommandService/CreateProduct", {
      name: "Linen apron",
      price: "25000",
      inventory: "2",
    });
    expect(created.status).toBe(200);
    const productId = created.body.productId as string;
    await projected(productId);
    const listed = await post(suite.queryUrl, "eventmall.product.v1.ProductQueryService/ListProducts", {
      nameContains: "linen",
    });
    expect(listed.status).toBe(200);
    expect(listed.body.products).toEqual([
      expect.objectContaining({ productId, name: "Linen apron", price: "25000", inventory: "2" }),
    ]);
    const invalid = await post(suite.commandUrl, "eventmall.product.v1.ProductCommandService/CreateProduct", {
      name: "",
      price: "0",
      inventory: "0",
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe("invalid_argument");
  });
});
