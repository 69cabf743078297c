// Benchmark 4: the same append and rehydration workloads on eventmall's embedded store (its own
// process, over gRPC, through @eventstore/db-client) and on Emmett's SQLite and PostgreSQL event
// stores (in this process, as an Emmett application uses them), for ratios. Events are the
// Product decider's, as protobuf JSON; rehydration folds them with the Product decider on every side.
import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql";
import { getSQLiteEventStore } from "@event-driven-io/emmett-sqlite";
import { toJson } from "@bufbuild/protobuf";
import { EventStoreDBClient, jsonEvent, type JSONType } from "@eventstore/db-client";
import pg from "pg";
import { EventCodec } from "../../src/kernel/write/event-codec";
import { productAggregate, productDecider, type ProductEvent, type ProductState } from "../../src/product/decider";
import { timeRuns, type LatencySummary } from "../lib/histogram";
import { closedLoop, type LoadResult } from "../lib/load";
import { productHistory } from "./aggregate-load";

export interface PeerOptions {
  connectionString: string;
  dir: string;
  postgresUrl: string;
  appends: number;
  appendConcurrency: number[];
  streams: number;
  rehydrateEvents: number;
  rehydrateRuns: number;
  /** Benchmark 1's full replay of the same number of events, when it ran. */
  eventmallRehydrate?: LatencySummary;
}

export interface PeerStoreResult {
  store: string;
  /** Appends per second (and latency) at each concurrency. */
  appends: LoadResult[];
  rehydrate?: LatencySummary;
  error?: string;
}

interface PlainEvent {
  type: string;
  data: Record<string, unknown>;
}

const codec = new EventCodec(productAggregate.events);
const descOf = new Map(productAggregate.events.map((desc) => [desc.typeName, desc]));

function plain(event: ProductEvent): PlainEvent {
  return { type: event.$typeName, data: toJson(descOf.get(event.$typeName)!, event as never) as Record<string, unknown> };
}

const metadata = { correlationId: "bench", causationId: "bench" };
const asJsonEvent = (event: PlainEvent) => jsonEvent({ type: event.type, data: event.data as JSONType, metadata });

function foldPlain(state: ProductState, event: PlainEvent): ProductState {
  return productDecider.evolve(state, codec.decode(event.type, event.data).message as ProductEvent);
}

export async function runPeers(options: PeerOptions): Promise<PeerStoreResult[]> {
  const history = productHistory(randomUUID(), options.rehydrateEvents).map(plain);
  const results: PeerStoreResult[] = [];

  // eventmall: the embedded store process, through the official client.
  const client = EventStoreDBClient.connectionString(options.connectionString);
  try {
    const streams = Array.from({ length: options.streams }, () => `product-${randomUUID()}`);
    const appends: LoadResult[] = [];
    for (const concurrency of options.appendConcurrency) {
      appends.push(await appendsUntilDone(concurrency, options.appends, streams, (stream, event) => client.appendToStream(stream, asJsonEvent(event))));
    }
    // Its rehydration is benchmark 1's full replay (the same events, the same fold): not run twice.
    results.push({ store: "eventmall (embedded store, gRPC)", appends, rehydrate: options.eventmallRehydrate });
  } finally {
    await client.dispose();
  }

  // Emmett SQLite opens a connection per call, and concurrent writers then fail with SQLITE_BUSY:
  // calls are serialized, as an application on it would have to.
  const emmettSqlite = serialized(getSQLiteEventStore({ fileName: path.join(options.dir, "emmett.db") }));
  results.push(await runEmmett("Emmett SQLite (sqlite3, in process, calls serialized)", emmettSqlite, history, options));

  const dbName = `eventmall_bench_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: options.postgresUrl });
  let created = false;
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE "${dbName}"`);
    created = true;
    const url = new URL(options.postgresUrl);
    url.pathname = `/${dbName}`;
    // Our own pool, so it is ended (and its errors handled) before the database is dropped.
    const pool = new pg.Pool({ connectionString: url.toString(), max: 10 });
    pool.on("error", () => undefined);
    const emmettPg = getPostgreSQLEventStore(url.toString(), { connectionOptions: { pooled: true, pool } });
    try {
      results.push(await runEmmett("Emmett PostgreSQL (pg pool of 10, in process)", emmettPg, history, options));
    } finally {
      await emmettPg.close();
      await pool.end().catch(() => undefined);
    }
  } catch (error) {
    results.push({ store: "Emmett PostgreSQL (pg, in process)", appends: [], error: String(error) });
  } finally {
    if (created) await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
  return results;
}

/** The store with one call at a time (a promise chain as the lock). */
function serialized(store: EmmettStore): EmmettStore {
  let tail: Promise<unknown> = Promise.resolve();
  const queue = <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work, work);
    tail = result.catch(() => undefined);
    return result;
  };
  return {
    appendToStream: (stream, events) => queue(() => store.appendToStream(stream, events)),
    aggregateStream: (stream, aggregate) => queue(() => store.aggregateStream(stream, aggregate)),
  };
}

interface EmmettStore {
  appendToStream(stream: string, events: PlainEvent[]): Promise<unknown>;
  aggregateStream<State>(stream: string, options: { evolve: (state: State, event: PlainEvent) => State; initialState: () => State }): Promise<{ state: State }>;
}

async function runEmmett(name: string, store: EmmettStore, history: PlainEvent[], options: PeerOptions): Promise<PeerStoreResult> {
  try {
    const streams = Array.from({ length: options.streams }, () => `product-${randomUUID()}`);
    const appends: LoadResult[] = [];
    for (const concurrency of options.appendConcurrency) {
      appends.push(await appendsUntilDone(concurrency, options.appends, streams, (stream, event) => store.appendToStream(stream, [event])));
    }
    const stream = `product-${randomUUID()}`;
    for (let i = 0; i < history.length; i += 1000) await store.appendToStream(stream, history.slice(i, i + 1000));
    const check = await store.aggregateStream<ProductState>(stream, { evolve: foldPlain, initialState: productDecider.initialState });
    if (!check.state.exists) throw new Error(`${name}: rehydrated state has no product`);
    const rehydrate = await timeRuns(options.rehydrateRuns, 2, () =>
      store.aggregateStream<ProductState>(stream, { evolve: foldPlain, initialState: productDecider.initialState }));
    return { store: name, appends, rehydrate };
  } catch (error) {
    return { store: name, appends: [], error: String(error) };
  }
}

/** Exactly `total` appends with `concurrency` in flight; latency per append. */
async function appendsUntilDone(concurrency: number, total: number, streams: string[], append: (stream: string, event: PlainEvent) => Promise<unknown>): Promise<LoadResult> {
  const [, ...increases] = productHistory(randomUUID(), Math.min(total, 1000) + 1).map(plain);
  let n = 0;
  return closedLoop(concurrency, 600_000, () => {
    const i = n++;
    return append(streams[i % streams.length]!, increases[i % increases.length]!);
  }, total);
}
