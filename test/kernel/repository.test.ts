// The aggregate repository against the embedded store, through the official client.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BACKWARDS,
  END,
  FORWARDS,
  jsonEvent,
  START,
  StreamNotFoundError,
  type EventStoreDBClient,
} from "@eventstore/db-client";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { AggregateRepository, RevisionConflictError } from "../../src/kernel/write/repository";
import type { EventMetadata } from "../../src/kernel/write/event-codec";
import { productAggregate, type ProductCommand, type ProductEvent, type ProductState } from "../../src/product/decider";

const SNAPSHOT_EVERY = 3;
// Each failed attempt of one writer means another writer succeeded, so with 10 parallel
// writers 9 retries always suffice.
const MAX_CONFLICT_RETRIES = 9;

let store: StoreUnderTest;
let client: EventStoreDBClient;
let repository: AggregateRepository<ProductState, ProductCommand, ProductEvent>;

const metadata = (): EventMetadata => ({ correlationId: randomUUID(), causationId: randomUUID() });
const now = new Date("2026-03-01T12:00:00Z");

function newRepository(overrides: Partial<typeof productAggregate> = {}) {
  return new AggregateRepository(client, { ...productAggregate, ...overrides }, {
    snapshotEvery: SNAPSHOT_EVERY,
    maxConflictRetries: MAX_CONFLICT_RETRIES,
  });
}

async function createProduct(inventory = 10n, writer = repository): Promise<string> {
  const productId = randomUUID();
  await writer.handle(
    productId,
    { type: "CreateProduct", productId, name: "Chair", price: 4200n, inventory, imagePath: "", description: "", now },
    { metadata: metadata() },
  );
  return productId;
}

async function increase(productId: string, quantity: bigint, expectedRevision?: bigint) {
  return repository.handle(productId, { type: "IncreaseInventory", productId, quantity, now }, { metadata: metadata(), expectedRevision });
}

async function readAll(stream: string) {
  const events = [];
  for await (const resolved of client.readStream(stream, { fromRevision: START, direction: FORWARDS })) events.push(resolved.event!);
  return events;
}

beforeAll(async () => {
  store = await openStore();
  client = store.client;
  repository = newRepository();
});

afterAll(async () => {
  await repository?.flushSnapshots();
  await store?.close();
});

describe("AggregateRepository", () => {
  it("appends decided events with correlation and causation metadata and returns the new revision", async () => {
    const productId = randomUUID();
    const given = metadata();
    const result = await repository.handle(
      productId,
      { type: "CreateProduct", productId, name: "Desk", price: 100n, inventory: 2n, imagePath: "", description: "", now },
      { metadata: given },
    );
    expect(result.revision).toBe(0n);
    expect(typeof result.commitPosition).toBe("bigint");
    expect(result.state).toMatchObject({ exists: true, name: "Desk", inventory: 2n });
    const [stored] = await readAll(`product-${productId}`);
    expect(stored.type).toBe("eventmall.product.v1.ProductCreated");
    expect(stored.metadata).toEqual(given);
    expect(stored.data).toMatchObject({ productId, name: "Desk", price: "100", inventory: "2" });
  });

  it("writes a snapshot each time an append crosses a multiple of SNAPSHOT_EVERY, keeping only the latest", async () => {
    const productId = await createProduct();
    await increase(productId, 1n);
    await repository.flushSnapshots();
    const snapshotStream = repository.snapshotStreamName(productId);
    expect(snapshotStream).toBe(`product_snapshot-${productId}`);
    await expect(readAll(snapshotStream)).rejects.toBeInstanceOf(StreamNotFoundError); // 2 events: no snapshot yet

    await increase(productId, 1n); // third event: revision 2
    await repository.flushSnapshots();
    let snapshots = await readAll(snapshotStream);
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0].metadata).toEqual({ revision: "2", schemaVersion: 1 });
    expect(snapshots[0].data).toMatchObject({ inventory: "12" });
    const { metadata: streamMetadata } = await client.getStreamMetadata(snapshotStream);
    expect(streamMetadata?.maxCount).toBe(1);

    for (let i = 0; i < 3; i++) await increase(productId, 1n); // revisions 3..5
    await repository.flushSnapshots();
    snapshots = await readAll(snapshotStream);
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0].metadata).toEqual({ revision: "5", schemaVersion: 1 });
    expect(snapshots[0].data).toMatchObject({ inventory: "15" });
  });

  it("loads from the latest snapshot plus only the events after it, matching a full replay", async () => {
    const productId = await createProduct();
    for (let i = 1; i <= 6; i++) await increase(productId, BigInt(i)); // revisions 1..6
    await repository.flushSnapshots();

    const loaded = await repository.load(productId);
    expect(loaded.snapshotRevision).toBe(5n);
    expect(loaded.eventsRead).toBe(1);
    expect(loaded.revision).toBe(6n);

    const fullReplay = await newRepository({ snapshot: undefined }).load(productId);
    expect(fullReplay.eventsRead).toBe(7);
    expect(loaded.state).toEqual(fullReplay.state);
    expect(loaded.state).toMatchObject({ inventory: 31n });
  });

  it("reads on from the snapshot when the stream's last SNAPSHOT_EVERY events start after it", async () => {
    const productId = await createProduct();
    for (let i = 0; i < 3; i++) await increase(productId, 1n); // revisions 1..3, snapshot at 2
    await repository.flushSnapshots();
    // Five more events from a writer that takes no snapshots (as if its snapshot writes failed).
    const withoutSnapshots = newRepository({ snapshot: undefined });
    for (let i = 0; i < 5; i++) await withoutSnapshots.handle(productId, { type: "IncreaseInventory", productId, quantity: 2n, now }, { metadata: metadata() });

    const loaded = await newRepository().load(productId);
    expect(loaded).toMatchObject({ snapshotRevision: 2n, eventsRead: 6, revision: 8n });
    const fullReplay = await newRepository({ snapshot: undefined }).load(productId);
    expect(loaded.state).toEqual(fullReplay.state);
    expect(loaded.state).toMatchObject({ inventory: 10n + 3n + 10n });
  });

  it("replays the whole stream when it is longer than SNAPSHOT_EVERY and has no snapshot", async () => {
    const withoutSnapshots = newRepository({ snapshot: undefined });
    const productId = await createProduct(1n, withoutSnapshots);
    for (let i = 0; i < 4; i++) await withoutSnapshots.handle(productId, { type: "IncreaseInventory", productId, quantity: 1n, now }, { metadata: metadata() });

    const loaded = await newRepository().load(productId);
    expect(loaded).toMatchObject({ snapshotRevision: undefined, eventsRead: 5, revision: 4n });
    expect(loaded.state).toMatchObject({ exists: true, name: "Chair", inventory: 5n });
  });

  it("loads a deleted stream that has a snapshot as the snapshot's state, as before the parallel read", async () => {
    const productId = await createProduct();
    for (let i = 0; i < 2; i++) await increase(productId, 1n); // revisions 1..2, snapshot at 2
    await repository.flushSnapshots();
    await client.deleteStream(repository.streamName(productId));

    const loaded = await newRepository().load(productId);
    expect(loaded).toMatchObject({ snapshotRevision: undefined, eventsRead: 0, revision: 2n });
    expect(loaded.state).toMatchObject({ exists: true, inventory: 12n });
  });

  it("loads an aggregate that has no stream yet as its initial state", async () => {
    const loaded = await newRepository().load(randomUUID());
    expect(loaded).toMatchObject({ snapshotRevision: undefined, eventsRead: 0, revision: undefined });
    expect(loaded.state).toMatchObject({ exists: false });
  });

  it("trusts the snapshot's contents for the revisions it covers", async () => {
    const productId = await createProduct();
    await increase(productId, 1n); // revision 1
    // A hand-written snapshot claiming revision 0 with a distinct name: a load that uses it
    // shows that name, which no event carries.
    const snapshotStream = repository.snapshotStreamName(productId);
    const state = (await repository.load(productId)).state;
    const data = productAggregate.snapshot!.encode({ ...state, name: "From snapshot", inventory: 10n } as ProductState)!;
    await client.appendToStream(snapshotStream, jsonEvent({ type: productAggregate.snapshot!.type, data, metadata: { revision: "0", schemaVersion: 1 } }));

    const loaded = await repository.load(productId);
    expect(loaded).toMatchObject({ snapshotRevision: 0n, eventsRead: 1, revision: 1n });
    expect(loaded.state).toMatchObject({ name: "From snapshot", inventory: 11n });
  });

  it("ignores a snapshot of an unknown schema version and replays the whole stream", async () => {
    const productId = await createProduct();
    await increase(productId, 4n);
    const snapshotStream = repository.snapshotStreamName(productId);
    await client.appendToStream(
      snapshotStream,
      jsonEvent({ type: productAggregate.snapshot!.type, data: { shape: "from the future" }, metadata: { revision: "1", schemaVersion: 99 } }),
    );
    const loaded = await repository.load(productId);
    expect(loaded).toMatchObject({ snapshotRevision: undefined, eventsRead: 2, revision: 1n });
    expect(loaded.state).toMatchObject({ exists: true, inventory: 14n });
  });

  it("never fails a command because its snapshot could not be written", async () => {
    const logged: string[] = [];
    const failingSnapshots = new AggregateRepository(
      client,
      {
        ...productAggregate,
        snapshot: { ...productAggregate.snapshot!, encode: () => { throw new Error("cannot encode"); } },
      },
      {
        snapshotEvery: 1,
        maxConflictRetries: 0,
        logger: { error: (_details, message) => logged.push(message), warn: (_details, message) => logged.push(message) },
      },
    );
    const productId = randomUUID();
    const result = await failingSnapshots.handle(
      productId,
      { type: "CreateProduct", productId, name: "Stool", price: 1n, inventory: 1n, imagePath: "", description: "", now },
      { metadata: metadata() },
    );
    expect(result.revision).toBe(0n);
    await failingSnapshots.flushSnapshots();
    expect(logged).toEqual(["snapshot write failed"]);
    await expect(readAll(failingSnapshots.snapshotStreamName(productId))).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it("retries concurrent commands on one aggregate so no update is lost", async () => {
    const productId = await createProduct(1n);
    const quantities = Array.from({ length: 10 }, (_, i) => BigInt(i + 1));
    const results = await Promise.all(quantities.map((quantity) => increase(productId, quantity)));

    const revisions = results.map((r) => r.revision!).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(revisions).toEqual(quantities); // each append landed at its own revision 1..10
    const loaded = await repository.load(productId);
    expect(loaded.revision).toBe(10n);
    expect(loaded.state).toMatchObject({ inventory: 1n + 55n });
    const stored = await readAll(`product-${productId}`);
    expect(stored.slice(1).map((e) => BigInt((e.data as { quantity: string }).quantity)).sort((a, b) => Number(a - b))).toEqual(quantities);
  });

  it("fails with the actual revision when an explicit expected revision is stale", async () => {
    const productId = await createProduct();
    await increase(productId, 1n);
    await increase(productId, 1n); // revision 2

    const error = await increase(productId, 1n, 0n).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RevisionConflictError);
    expect(error).toMatchObject({ streamName: `product-${productId}`, expectedRevision: 0n, actualRevision: 2n });
    expect((await repository.load(productId)).revision).toBe(2n);
  });

  it("lets exactly one of two writers holding the same expected revision win", async () => {
    const productId = await createProduct();
    const outcomes = await Promise.allSettled([increase(productId, 3n, 0n), increase(productId, 5n, 0n)]);
    const fulfilled = outcomes.filter((o) => o.status === "fulfilled");
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0].reason).toBeInstanceOf(RevisionConflictError);
    expect(rejected[0].reason).toMatchObject({ expectedRevision: 0n, actualRevision: 1n });
  });

  it("reports a missing stream as an absent actual revision", async () => {
    const productId = randomUUID();
    const error = await increase(productId, 1n, 0n).catch((e: unknown) => e);
    expect(error).toMatchObject({ streamName: `product-${productId}`, expectedRevision: 0n, actualRevision: undefined });
  });

  it("reads the snapshot stream backwards from its end", async () => {
    // Guards the read the repository relies on: the newest snapshot is the first event backwards.
    const stream = `product_snapshot-${randomUUID()}`;
    await client.appendToStream(stream, [jsonEvent({ type: "t", data: { n: 1 } }), jsonEvent({ type: "t", data: { n: 2 } })]);
    const newest = [];
    for await (const resolved of client.readStream(stream, { fromRevision: END, direction: BACKWARDS, maxCount: 1 })) newest.push(resolved.event!);
    expect(newest.map((e) => e.data)).toEqual([{ n: 2 }]);
  });
});
