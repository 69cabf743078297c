// Structured logs: the correlation id a client sends (x-correlation-id) lands in the event's
// metadata with a causation id, and the projector process logs both, as JSON, when it applies
// the event. Real command and projector processes over the embedded store.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { readMetadata } from "../../src/kernel/write/event-codec";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { operatorCredentials } from "../support/operator";
import { listeningUrl, startService, type ServiceProcess } from "../support/processes";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";

let store: StoreUnderTest;
let readDb: TestReadDb;
let command: ServiceProcess;
let projector: ServiceProcess;
let commandUrl: string;
let asOperator: Awaited<ReturnType<typeof operatorCredentials>>["asOperator"];

beforeAll(async () => {
  store = await openStore();
  readDb = await createMigratedReadDb("sqlite");
  const operator = await operatorCredentials();
  asOperator = operator.asOperator;
  const shared = { EVENTSTORE_CONNECTION_STRING: store.connectionString, AUTH_TOKEN_SECRET: operator.secret, LOG_LEVEL: "debug" };
  command = startService("command", { ...shared, COMMAND_PORT: "0", COMMAND_CONTEXTS: "product" });
  projector = startService("projector", { ...shared, READ_DATABASE_URL: readDb.url, PROJECTOR_RETRY_BASE_MS: "20", PROJECTOR_HEALTH_PORT: "0" });
  commandUrl = await listeningUrl(command);
  await projector.waitFor(/"msg":"subscribed"/);
}, 120_000);

afterAll(async () => {
  await Promise.all([command?.stop(), projector?.stop()]);
  await store?.close();
  await readDb?.drop();
});

describe("correlation and causation ids", () => {
  it("flow from the x-correlation-id header into event metadata and the projector's JSON log", async () => {
    const correlationId = `checkout-${randomUUID()}`;
    const commands = createClient(ProductCommandService, createGrpcTransport({ baseUrl: commandUrl, interceptors: [asOperator] }));
    let echoed: string | null = null;
    const { productId } = await commands.createProduct(
      { name: "Traced teapot", price: 100n, inventory: 1n },
      { headers: { "x-correlation-id": correlationId }, onHeader: (headers) => (echoed = headers.get("x-correlation-id")) },
    );
    expect(echoed).toBe(correlationId);

    const events = [];
    for await (const resolved of store.client.readStream(`product-${productId}`)) events.push(resolved.event!);
    expect(events).toHaveLength(1);
    const metadata = readMetadata(events[0]!.metadata);
    expect(metadata.correlationId).toBe(correlationId);
    expect(metadata.causationId).toMatch(/^[0-9a-f-]{36}$/);

    // Other projections (the order catalog) handle product events too: wait for the product one's line.
    const match = await projector.waitFor(new RegExp(`"projection":"product",.*"correlationId":"${correlationId}"`), 30_000);
    const record = JSON.parse(match.input!) as Record<string, unknown>;
    expect(record).toMatchObject({
      name: "projector",
      projection: "product",
      msg: "event handled",
      stream: `product-${productId}`,
      correlationId,
      causationId: metadata.causationId,
    });
    expect(typeof record.time).toBe("number");
    // Everything the projector wrote to stdout is one JSON record per line.
    const stdout = projector.lines.filter((line) => line.trim() !== "");
    expect(stdout.every((line) => line.startsWith("{") && JSON.parse(line))).toBe(true);
  });

  it("answers the container health check on the projector's health port", async () => {
    const [, url] = await projector.waitFor(/"url":"(http:[^"]+)".*"msg":"projector health listening"/);
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/healthcheck.ts", new URL(url!).port]);
    expect(stdout.trim()).toBe("SERVING");
  });

  it("gives a command without the header a fresh correlation id", async () => {
    const commands = createClient(ProductCommandService, createGrpcTransport({ baseUrl: commandUrl, interceptors: [asOperator] }));
    const { productId } = await commands.createProduct({ name: "Untraced cup", price: 100n, inventory: 1n });
    const events = [];
    for await (const resolved of store.client.readStream(`product-${productId}`)) events.push(resolved.event!);
    const metadata = readMetadata(events[0]!.metadata);
    expect(metadata.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    await projector.waitFor(new RegExp(`"correlationId":"${metadata.correlationId}"`), 30_000);
  });
});
