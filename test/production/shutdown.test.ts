// Graceful shutdown of every process on SIGTERM (what `docker compose stop` sends): each one logs
// the shutdown, lets calls in flight finish, closes its connections and exits 0 on its own.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { ProductQueryService } from "../../gen/eventmall/product/v1/queries_pb";
import { operatorCredentials } from "../support/operator";
import { listeningUrl, startService, type ServiceProcess } from "../support/processes";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";

let readDb: TestReadDb;
let eventstore: ServiceProcess;
let command: ServiceProcess;
let query: ServiceProcess;
let projector: ServiceProcess;
let asOperator: Awaited<ReturnType<typeof operatorCredentials>>["asOperator"];

beforeAll(async () => {
  readDb = await createMigratedReadDb("sqlite");
  const operator = await operatorCredentials();
  asOperator = operator.asOperator;
  eventstore = startService("eventstore", {}, ["--port", "0", "--in-memory"]);
  const [, connectionString] = await eventstore.waitFor(/eventstore listening on (esdb:\/\/\S+)/);
  const shared = { EVENTSTORE_CONNECTION_STRING: connectionString!, AUTH_TOKEN_SECRET: operator.secret, READ_DATABASE_URL: readDb.url };
  command = startService("command", { ...shared, COMMAND_PORT: "0", COMMAND_CONTEXTS: "product" });
  query = startService("query", { ...shared, QUERY_PORT: "0" });
  projector = startService("projector", shared);
  await Promise.all([listeningUrl(command), listeningUrl(query), projector.waitFor(/"msg":"subscribed"/)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([command, query, projector, eventstore].map((p) => p?.stop(5_000)));
  await readDb?.drop();
});

/** Each call either completed or was refused as the server went away; none hangs or half-happens. */
function settle<T>(calls: Promise<T>[]) {
  return Promise.all(
    calls.map((call) =>
      call.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => {
          // REFUSED_STREAM: the server closed the connection before taking the call (never run).
          const refused = error instanceof ConnectError && ([Code.Unavailable, Code.Canceled].includes(error.code) || error.message.includes("REFUSED_STREAM"));
          if (!refused) throw error;
          return { ok: false as const };
        },
      ),
    ),
  );
}

describe("SIGTERM", () => {
  it("stops the command service after the calls in flight, and the projector after the events in hand", async () => {
    const commands = createClient(ProductCommandService, createGrpcTransport({ baseUrl: await listeningUrl(command), interceptors: [asOperator] }));
    const { productId } = await commands.createProduct({ name: "Before shutdown", price: 1n, inventory: 1n });
    const inFlight = Array.from({ length: 10 }, () => commands.increaseInventory({ productId, quantity: 1n }));
    command.child.kill("SIGTERM");
    const outcomes = await settle(inFlight);
    expect(await command.exited).toBe(0);
    expect(command.records().map((r) => r.msg)).toContain("shutting down");
    // What succeeded is in the store, once each: the projector (still running) shows it.
    const succeeded = outcomes.filter((o) => o.ok).length;
    const queries = createClient(ProductQueryService, createGrpcTransport({ baseUrl: await listeningUrl(query) }));
    const deadline = Date.now() + 30_000;
    let inventory = -1n;
    while (Date.now() < deadline) {
      inventory = (await queries.getProduct({ productId }).catch(() => ({ product: undefined }))).product?.inventory ?? -1n;
      if (inventory === BigInt(1 + succeeded)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(inventory).toBe(BigInt(1 + succeeded));

    projector.child.kill("SIGTERM");
    expect(await projector.exited).toBe(0);
    expect(projector.records().map((r) => r.msg)).toEqual(expect.arrayContaining(["shutting down", "stopped"]));
  });

  it("stops the query service with its calls in flight answered", async () => {
    const queries = createClient(ProductQueryService, createGrpcTransport({ baseUrl: await listeningUrl(query) }));
    // Connected first (as the command test is): a SIGTERM that lands while the client is still
    // connecting resets the connection (ECONNRESET), and no call was ever in flight.
    await queries.listProducts({ pageSize: 1 });
    const inFlight = Array.from({ length: 20 }, () => queries.listProducts({ pageSize: 100 }));
    query.child.kill("SIGTERM");
    await settle(inFlight);
    expect(await query.exited).toBe(0);
    expect(query.records().map((r) => r.msg)).toEqual(expect.arrayContaining(["shutting down", "stopped"]));
  });

  it("stops the event store", async () => {
    eventstore.child.kill("SIGTERM");
    expect(await eventstore.exited).toBe(0);
    expect(eventstore.lines.some((line) => line.includes("eventstore stopping (SIGTERM)"))).toBe(true);
  });
});
