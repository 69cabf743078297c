// The repository's state cache against the embedded store: two repositories stand for two
// command-service replicas writing the same aggregates, so each one's cache goes stale.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FORWARDS, START, type EventStoreDBClient } from "@eventstore/db-client";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { AggregateRepository, RevisionConflictError } from "../../src/kernel/write/repository";
import type { EventMetadata } from "../../src/kernel/write/event-codec";
import { DomainRuleViolation } from "../../src/kernel/write/decider";
import { productAggregate, type ProductCommand, type ProductEvent, type ProductState } from "../../src/product/decider";

type ProductRepository = AggregateRepository<ProductState, ProductCommand, ProductEvent>;

let store: StoreUnderTest;
let client: EventStoreDBClient;

const metadata = (): EventMetadata => ({ correlationId: randomUUID(), causationId: randomUUID() });
const now = new Date("2026-03-01T12:00:00Z");

function replica(eventStore: EventStoreDBClient = client, cacheSize = 100): ProductRepository {
  return new AggregateRepository(eventStore, productAggregate, { snapshotEvery: 5, maxConflictRetries: 20, cacheSize });
}

async function create(repository: ProductRepository, inventory: bigint): Promise<string> {
  const productId = randomUUID();
  await repository.handle(
    productId,
    { type: "CreateProduct", productId, name: "Lamp", price: 1500n, inventory, imagePath: "", description: "", now },
    { metadata: metadata() },
  );
  return productId;
}

const increase = (repository: ProductRepository, productId: string, quantity: bigint, expectedRevision?: bigint) =>
  repository.handle(productId, { type: "IncreaseInventory", productId, quantity, now }, { metadata: metadata(), expectedRevision });
const decrease = (repository: ProductRepository, productId: string, quantity: bigint) =>
  repository.handle(productId, { type: "DecreaseInventory", productId, quantity, now }, { metadata: metadata() });

function inventory(state: ProductState): bigint {
  if (!state.exists) throw new Error("the product does not exist");
  return state.inventory;
}

async function revisions(productId: string): Promise<bigint[]> {
  const seen: bigint[] = [];
  for await (const resolved of client.readStream(`product-${productId}`, { fromRevision: START, direction: FORWARDS })) seen.push(resolved.event!.revision);
  return seen;
}

beforeAll(async () => {
  store = await openStore();
  client = store.client;
});

afterAll(async () => {
  await store?.close();
});

describe("AggregateRepository with a state cache", () => {
  it("loads only the events after the cached revision once it has seen an aggregate", async () => {
    const repository = replica();
    const productId = await create(repository, 1n);
    for (let i = 0; i < 7; i++) await increase(repository, productId, 1n);
    const loaded = await repository.load(productId);
    expect(loaded).toMatchObject({ revision: 7n, eventsRead: 0, snapshotRevision: undefined });
    expect(inventory(loaded.state)).toBe(8n);

    await increase(replica(), productId, 2n); // another replica writes
    const caughtUp = await repository.load(productId);
    expect(caughtUp).toMatchObject({ revision: 8n, eventsRead: 1 });
    expect(inventory(caughtUp.state)).toBe(10n);
  });

  it("loses no update when replicas with stale caches alternate on one aggregate", async () => {
    const [a, b] = [replica(), replica()];
    const productId = await create(a, 1n);
    await increase(b, productId, 1n); // b now caches the aggregate too
    let expected = 2n;
    for (let i = 1; i <= 10; i++) {
      const result = await increase(i % 2 === 0 ? a : b, productId, BigInt(i));
      expected += BigInt(i);
      expect(inventory(result.state)).toBe(expected);
    }
    expect(inventory((await replica(client, 0).load(productId)).state)).toBe(expected);
    expect(await revisions(productId)).toEqual(Array.from({ length: 12 }, (_, i) => BigInt(i)));
  });

  it("loses no update when replicas write the same aggregate concurrently", async () => {
    const replicas = [replica(), replica(), replica()];
    const productId = await create(replicas[0]!, 1n);
    await Promise.all(replicas.map((repository) => repository.load(productId)));
    await Promise.all(Array.from({ length: 30 }, (_, i) => increase(replicas[i % 3]!, productId, 1n)));
    expect(inventory((await replica(client, 0).load(productId)).state)).toBe(31n);
    expect(await revisions(productId)).toHaveLength(31);
  });

  it("checks a rejection against the store before answering it (the cache may be behind)", async () => {
    const [a, b] = [replica(), replica()];
    const productId = await create(a, 1n);
    await increase(b, productId, 10n); // a still caches inventory 1
    const result = await decrease(a, productId, 6n);
    expect(inventory(result.state)).toBe(5n);
    await expect(decrease(a, productId, 6n)).rejects.toBeInstanceOf(DomainRuleViolation);
  });

  it("checks an explicit expected revision against the store when the cache disagrees", async () => {
    const [a, b] = [replica(), replica()];
    const productId = await create(a, 1n);
    const byB = await increase(b, productId, 1n);
    const result = await increase(a, productId, 1n, byB.revision);
    expect(result.revision).toBe(2n);
    expect(inventory(result.state)).toBe(3n);

    await increase(b, productId, 1n); // a caches revision 2, the store is at 3
    const failure = await increase(a, productId, 1n, 2n).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RevisionConflictError);
    expect(failure).toMatchObject({ expectedRevision: 2n, actualRevision: 3n });
  });

  it("stays correct after an append whose acknowledgement was lost (it did land)", async () => {
    let failNextAppend = false;
    const flaky = new Proxy(client, {
      get(target, property, receiver) {
        if (property === "appendToStream") {
          return (...args: Parameters<EventStoreDBClient["appendToStream"]>) => {
            if (!failNextAppend) return target.appendToStream(...args);
            failNextAppend = false;
            // The append reaches the store, but its acknowledgement is lost (e.g. a timeout).
            return target.appendToStream(...args).then(() => Promise.reject(new Error("deadline exceeded")));
          };
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const repository = replica(flaky);
    const productId = await create(repository, 1n);
    failNextAppend = true;
    await expect(increase(repository, productId, 4n)).rejects.toThrow("deadline exceeded");
    const next = await increase(repository, productId, 1n);
    expect(inventory(next.state)).toBe(6n);
    expect(next.revision).toBe(2n);
  });

  it("keeps at most cacheSize aggregates: an evicted one is loaded again from its snapshot", async () => {
    const repository = replica(client, 1);
    const first = await create(repository, 1n);
    for (let i = 0; i < 6; i++) await increase(repository, first, 1n);
    await repository.flushSnapshots();
    await create(repository, 1n); // evicts `first`
    const loaded = await repository.load(first);
    expect(loaded.snapshotRevision).toBe(4n);
    expect(loaded).toMatchObject({ revision: 6n, eventsRead: 2 });
    expect(inventory(loaded.state)).toBe(7n);
  });
});
