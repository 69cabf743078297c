// "10 + 15 = 35" at scale: many gRPC clients (one HTTP/2 connection each) change the inventory of
// ONE product concurrently through two real command services over the embedded store. Every delta
// is distinct, so the stream tells exactly which commands landed. Shared by the light test
// (test/reliability) and the chaos test (test/chaos) with different sizes.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { InventoryDecreasedSchema, InventoryIncreasedSchema, ProductCreatedSchema } from "../../gen/eventmall/product/v1/events_pb";
import { startCommandServer } from "../../services/command/server";
import { createTokenService } from "../../src/kernel/auth/auth";
import { loadConfig } from "../../src/kernel/process/config";
import { EventCodec } from "../../src/kernel/write/event-codec";
import { openStore } from "../eventstore/harness";
import { operatorCredentials } from "../support/operator";

const codec = new EventCodec([ProductCreatedSchema, InventoryIncreasedSchema, InventoryDecreasedSchema]);

export interface ContentionResult {
  commandsSent: number;
  succeeded: number;
  /** Answered ABORTED after the service's bounded retries. */
  aborted: number;
  /** Any other error: should never happen. */
  otherErrors: string[];
  initialInventory: bigint;
  /** Sum of the deltas of the commands answered OK. */
  expectedInventory: bigint;
  /** What the service answers now (one more +1 call, minus 1). */
  finalInventory: bigint;
  /** Deltas found in the stream, and those of the OK commands (both sorted). */
  recordedDeltas: bigint[];
  acknowledgedDeltas: bigint[];
  revisions: bigint[];
  eventIds: string[];
}

/** `clients` connections each send `commandsPerClient` commands at once: clients × commandsPerClient in flight. */
export async function runContention(options: { clients: number; commandsPerClient: number; initialInventory?: bigint }): Promise<ContentionResult> {
  const store = await openStore();
  const operator = await operatorCredentials();
  const tokens = createTokenService({ dataDir: "/nonexistent", auth: { tokenSecret: operator.secret, tokenTtlSeconds: 3600 } });
  // The shipped defaults (COMMAND_MAX_CONFLICT_RETRIES, SNAPSHOT_EVERY): this is what production does.
  const defaults = loadConfig().command;
  // Two command services (two replicas, each with its own repository) on the same store: writers
  // within one replica take turns, writers in different replicas conflict and are retried.
  const servers = await Promise.all(
    [0, 1].map(() =>
      startCommandServer({
        eventStore: store.client,
        port: 0,
        snapshotEvery: defaults.snapshotEvery,
        maxConflictRetries: defaults.maxConflictRetries,
        logger: pino({ level: "silent" }),
        tokens,
        contexts: ["product"],
      }),
    ),
  );
  const clients: Client<typeof ProductCommandService>[] = Array.from({ length: options.clients }, (_, i) =>
    createClient(ProductCommandService, createGrpcTransport({ baseUrl: servers[i % servers.length]!.url, interceptors: [operator.asOperator] })),
  );
  try {
    const initialInventory = options.initialInventory ?? 10n;
    const { productId } = await clients[0]!.createProduct({ name: "Contended kettle", price: 100n, inventory: initialInventory });
    const acknowledged: bigint[] = [];
    const otherErrors: string[] = [];
    let aborted = 0;
    let commandsSent = 0;
    // Increases are 10, 15, then distinct values; decreases are small distinct values that can't empty the stock.
    const calls = clients.flatMap((client, c) =>
      Array.from({ length: options.commandsPerClient }, (_, k) => {
        const index = c * options.commandsPerClient + k;
        const increase = index % 3 !== 2;
        const quantity = index === 0 ? 10n : index === 1 ? 15n : BigInt(1_000 + index);
        return async () => {
          commandsSent++;
          try {
            if (increase) await client.increaseInventory({ productId, quantity });
            else await client.decreaseInventory({ productId, quantity: quantity / 10n });
            acknowledged.push(increase ? quantity : -(quantity / 10n));
          } catch (error) {
            if (error instanceof ConnectError && error.code === Code.Aborted) aborted++;
            else otherErrors.push(String(error));
          }
        };
      }),
    );
    await Promise.all(calls.map((call) => call()));

    const events = [];
    for await (const resolved of store.client.readStream(`product-${productId}`)) events.push(resolved.event!);
    const recordedDeltas = events.slice(1).map((e) => {
      const quantity = (codec.decode(e.type, e.data).message as { quantity: bigint }).quantity;
      return e.type === InventoryIncreasedSchema.typeName ? quantity : -quantity;
    });
    const { inventory } = await clients[0]!.increaseInventory({ productId, quantity: 1n });
    return {
      commandsSent,
      succeeded: acknowledged.length,
      aborted,
      otherErrors,
      initialInventory,
      expectedInventory: acknowledged.reduce((sum, delta) => sum + delta, initialInventory),
      finalInventory: inventory - 1n,
      recordedDeltas: recordedDeltas.sort(compare),
      acknowledgedDeltas: acknowledged.sort(compare),
      revisions: events.map((e) => e.revision),
      eventIds: events.map((e) => e.id),
    };
  } finally {
    await Promise.all(servers.map((server) => server.close()));
    await store.close();
  }
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
