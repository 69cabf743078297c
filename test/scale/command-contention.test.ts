// Two command-service processes over one embedded store, hammered with concurrent inventory
// changes to the same products: optimistic concurrency with retries loses no update. The final
// inventory is exactly the initial one plus the deltas of the calls that succeeded, and each
// product's stream holds exactly those events at contiguous revisions.
import { ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { InventoryDecreasedSchema, InventoryIncreasedSchema, ProductCreatedSchema } from "../../gen/eventmall/product/v1/events_pb";
import { EventCodec } from "../../src/kernel/write/event-codec";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { operatorCredentials } from "../support/operator";
import { listeningUrl, startService, type ServiceProcess } from "../support/processes";

const WORKERS_PER_PROCESS = 4;
const CALLS_PER_WORKER = 6;
const INITIAL_INVENTORY = 1_000n;
const codec = new EventCodec([ProductCreatedSchema, InventoryIncreasedSchema, InventoryDecreasedSchema]);

let store: StoreUnderTest;
const processes: ServiceProcess[] = [];
let clients: Client<typeof ProductCommandService>[];

beforeAll(async () => {
  store = await openStore();
  const operator = await operatorCredentials();
  for (let i = 0; i < 2; i++) {
    processes.push(
      startService("command", {
        EVENTSTORE_CONNECTION_STRING: store.connectionString,
        AUTH_TOKEN_SECRET: operator.secret,
        COMMAND_PORT: "0",
        COMMAND_CONTEXTS: "product",
        COMMAND_MAX_CONFLICT_RETRIES: "50",
        // Snapshots every few events, so snapshot reads race with appends too.
        SNAPSHOT_EVERY: "4",
      }),
    );
  }
  const urls = await Promise.all(processes.map(listeningUrl));
  clients = urls.map((baseUrl) => createClient(ProductCommandService, createGrpcTransport({ baseUrl, interceptors: [operator.asOperator] })));
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await store?.close();
});

describe("two command-service processes on the same aggregates", () => {
  it("lose no update", async () => {
    const productIds: string[] = [];
    for (const name of ["Contended kettle", "Contended pan"]) {
      productIds.push((await clients[0]!.createProduct({ name, price: 100n, inventory: INITIAL_INVENTORY })).productId);
    }
    const applied = new Map(productIds.map((id) => [id, [] as bigint[]]));
    let failures = 0;
    // Every worker alternates products and directions; deltas are distinct, so each one is traceable.
    const worker = async (client: Client<typeof ProductCommandService>, workerIndex: number) => {
      for (let call = 0; call < CALLS_PER_WORKER; call++) {
        const productId = productIds[(workerIndex + call) % productIds.length]!;
        const quantity = BigInt(workerIndex * 100 + call + 1);
        const increase = call % 2 === 0;
        try {
          if (increase) await client.increaseInventory({ productId, quantity });
          else await client.decreaseInventory({ productId, quantity });
          applied.get(productId)!.push(increase ? quantity : -quantity);
        } catch (error) {
          if (!(error instanceof ConnectError)) throw error;
          failures++; // refused as a whole (e.g. retries exhausted): must leave no trace
        }
      }
    };
    await Promise.all(
      clients.flatMap((client, p) => Array.from({ length: WORKERS_PER_PROCESS }, (_, w) => worker(client, p * WORKERS_PER_PROCESS + w))),
    );
    expect(failures).toBeLessThan(2 * WORKERS_PER_PROCESS * CALLS_PER_WORKER);

    for (const productId of productIds) {
      const deltas = applied.get(productId)!;
      const events = [];
      for await (const resolved of store.client.readStream(`product-${productId}`)) events.push(resolved.event!);
      expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => BigInt(i)));
      expect(events[0]!.type).toBe(ProductCreatedSchema.typeName);
      const recorded = events.slice(1).map((e) => {
        const { message } = codec.decode(e.type, e.data);
        const quantity = (message as { quantity: bigint }).quantity;
        return e.type === InventoryIncreasedSchema.typeName ? quantity : -quantity;
      });
      // Exactly the successful calls' deltas, each once.
      expect([...recorded].sort(compare)).toEqual([...deltas].sort(compare));
      const expected = deltas.reduce((sum, delta) => sum + delta, INITIAL_INVENTORY);
      // And the aggregate agrees: one more call answers the inventory it computed.
      const { inventory } = await clients[1]!.increaseInventory({ productId, quantity: 1n });
      expect(inventory).toBe(expected + 1n);
    }
  }, 120_000);
});

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
