// Benchmark 1: loading one aggregate whose stream holds N events (default 10,000), by full replay
// and from its snapshot plus a short tail, with the real AggregateRepository against the embedded
// store (its own process, on disk) over gRPC. The same stream serves both: the full-replay
// repository is given no snapshot codec, so it reads every event.
import { randomUUID } from "node:crypto";
import { EventStoreDBClient } from "@eventstore/db-client";
import { DEFAULT_SNAPSHOT_EVERY } from "../../src/kernel/process/config";
import { EventCodec, type EventMetadata } from "../../src/kernel/write/event-codec";
import { AggregateRepository } from "../../src/kernel/write/repository";
import { productAggregate, productDecider, type ProductCommand, type ProductEvent, type ProductState } from "../../src/product/decider";
import { timeRuns, type LatencySummary } from "../lib/histogram";

export interface AggregateLoadOptions {
  connectionString: string;
  events: number;
  /** Events after the snapshot (below SNAPSHOT_EVERY while snapshots keep up; half of it on average). */
  tail: number;
  loads: number;
}

export interface AggregateLoadResult {
  events: number;
  tail: number;
  fullReplay: LatencySummary;
  /** The repository as the services run it: snapshot and the stream's last SNAPSHOT_EVERY events at once. */
  snapshotAndTail: LatencySummary;
  /** The same with the two reads one after the other (snapshot, then the events after it). */
  snapshotThenTail: LatencySummary;
  snapshotEvery: number;
  /** A repository with a state cache (the command service's): the cached state + a read of what came after it. */
  cachedCatchUp: LatencySummary;
}

const metadata = (): EventMetadata => ({ correlationId: randomUUID(), causationId: randomUUID() });

/** The events the Product decider emits for a creation followed by inventory increases. */
export function productHistory(productId: string, count: number): ProductEvent[] {
  const events: ProductEvent[] = [];
  let state: ProductState = productDecider.initialState();
  const started = Date.now() - count * 1000;
  for (let i = 0; i < count; i++) {
    const now = new Date(started + i * 1000);
    const command: ProductCommand =
      i === 0
        ? { type: "CreateProduct", productId, name: "Bench lamp", price: 1999n, inventory: 10n, imagePath: "", description: "benchmark product", now }
        : { type: "IncreaseInventory", productId, quantity: 1n, now };
    for (const event of productDecider.decide(command, state)) {
      events.push(event);
      state = productDecider.evolve(state, event);
    }
  }
  return events;
}

/** Appends decider-made events in batches (one append per `batch`, as a bulk import would). */
async function appendHistory(client: EventStoreDBClient, stream: string, events: ProductEvent[], firstRevision: number): Promise<void> {
  const codec = new EventCodec(productAggregate.events);
  const descOf = new Map(productAggregate.events.map((desc) => [desc.typeName, desc]));
  const batch = 1000;
  for (let i = 0; i < events.length; i += batch) {
    const slice = events.slice(i, i + batch).map((event) => codec.encode(descOf.get(event.$typeName)!, event as never, metadata()));
    const expected = firstRevision + i - 1;
    await client.appendToStream(stream, slice, { expectedRevision: expected < 0 ? "no_stream" : BigInt(expected) });
  }
}

export async function runAggregateLoad(options: AggregateLoadOptions): Promise<AggregateLoadResult> {
  const { events: total, tail, loads } = options;
  if (tail < 0 || tail >= total - 1) throw new Error("tail must be between 0 and events - 2");
  const client = EventStoreDBClient.connectionString(options.connectionString);
  try {
    const productId = randomUUID();
    const history = productHistory(productId, total);
    const stream = productAggregate.stream.streamName(productId);
    const beforeSnapshot = total - tail - 1;
    await appendHistory(client, stream, history.slice(0, beforeSnapshot), 0);

    // One real command through the repository crosses the snapshot threshold, so the repository
    // itself writes the snapshot (at revision total - tail - 1), exactly as in production.
    const snapshotWriter = new AggregateRepository(client, productAggregate, { snapshotEvery: total - tail, maxConflictRetries: 0 });
    await snapshotWriter.handle(productId, { type: "IncreaseInventory", productId, quantity: 1n, now: new Date() }, { metadata: metadata() });
    await snapshotWriter.flushSnapshots();
    await appendHistory(client, stream, history.slice(beforeSnapshot + 1), beforeSnapshot + 1);

    // Loads as the services make them (the shipped SNAPSHOT_EVERY), and, for comparison, the
    // two reads one after the other (snapshotEvery 0 keeps the codec but not the parallel read).
    const snapshotEvery = DEFAULT_SNAPSHOT_EVERY;
    const snapshotting = new AggregateRepository(client, productAggregate, { snapshotEvery, maxConflictRetries: 0 });
    const inOrder = new AggregateRepository(client, productAggregate, { snapshotEvery: 0, maxConflictRetries: 0 });

    const replaying = new AggregateRepository(client, { ...productAggregate, snapshot: undefined }, { snapshotEvery: 0, maxConflictRetries: 0 });
    const check = await replaying.load(productId);
    if (check.eventsRead !== total) throw new Error(`full replay read ${check.eventsRead} events, expected ${total}`);
    for (const repository of [snapshotting, inOrder]) {
      const fromSnapshot = await repository.load(productId);
      if (fromSnapshot.snapshotRevision === undefined || fromSnapshot.eventsRead !== tail) {
        throw new Error(`snapshot load read ${fromSnapshot.eventsRead} events from snapshot ${fromSnapshot.snapshotRevision}, expected a ${tail}-event tail`);
      }
      if (JSON.stringify(stateView(check.state)) !== JSON.stringify(stateView(fromSnapshot.state))) {
        throw new Error("snapshot + tail and full replay disagree on the state");
      }
    }

    const caching = new AggregateRepository(client, productAggregate, { snapshotEvery: 0, maxConflictRetries: 0, cacheSize: 1 });
    await caching.load(productId);
    const warm = await caching.load(productId);
    if (warm.eventsRead !== 0 || warm.revision !== check.revision) throw new Error("a warm load should read no events and end at the stream's last revision");

    const fullReplay = await timeRuns(loads, 3, () => replaying.load(productId));
    const snapshotAndTail = await timeRuns(loads, 3, () => snapshotting.load(productId));
    const snapshotThenTail = await timeRuns(loads, 3, () => inOrder.load(productId));
    const cachedCatchUp = await timeRuns(loads, 3, () => caching.load(productId));
    return { events: total, tail, fullReplay, snapshotAndTail, snapshotThenTail, snapshotEvery, cachedCatchUp };
  } finally {
    await client.dispose();
  }
}

function stateView(state: ProductState) {
  return state.exists ? { inventory: state.inventory.toString(), name: state.name, price: state.price.toString() } : {};
}
