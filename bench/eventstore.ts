// Benchmark of the embedded store through the official client, against raw better-sqlite3 inserts of
// the same rows at the same durability as the ceiling. `npm run bench:eventstore`; stops by itself.
// The store runs as its own process (as in production), on a temporary data file.
import { randomUUID } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { EventStoreDBClient, jsonEvent } from "@eventstore/db-client";
import { EventTable, DURABILITY, nowTicks, openDatabase } from "../services/eventstore/sqlite-store";
import { openSqliteEventLog } from "../services/eventstore/sqlite-log";
import { encodeReadEvent } from "../services/eventstore/grpc/read-encoding";
import { clientDecodeMillis, preEncodedAppendsPerSecond, rawRead } from "./eventstore-raw-client";
import { processCpuMillis, startEventStoreProcess } from "./lib/processes";

const ROOT = path.resolve(import.meta.dirname, "..");
const STREAMS = 1000;
const APPENDS_SEQUENTIAL = 2000;
const APPENDS_CONCURRENT = 20_000;
const READ_STREAM_EVENTS = 10_000;
const READ_REPEATS = 7;
/** The targets. */
const TARGET_SHARE_OF_CEILING = 0.5;
const TARGET_READ_MS = 20;
const SUBSCRIPTION_EVENTS = 100_000;

interface Row {
  measure: string;
  value: string;
  note?: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function payload(n: number) {
  return { orderId: `order-${n}`, amount: n % 1000, currency: "EUR", lines: [{ sku: "sku-1", quantity: 1 }] };
}

async function appendsPerSecond(client: EventStoreDBClient, total: number, inFlight: number, prefix: string): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) {
        const n = next++;
        await client.appendToStream(`${prefix}-${n % STREAMS}`, jsonEvent({ type: "OrderPlaced", data: payload(n) }));
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

/**
 * The ceiling: the same rows inserted straight into SQLite, one transaction per `perTransaction` rows,
 * with synchronous=FULL (the WAL fsynced at every commit: the store's durability per acknowledgement).
 */
function rawInsertsPerSecond(dir: string, total: number, perTransaction: number): number {
  const db = openDatabase({ dataFile: path.join(dir, `raw-${perTransaction}.db`), synchronous: "FULL" });
  const table = new EventTable(db);
  const rows = Array.from({ length: total }, (_, n) => ({
    position: BigInt(n),
    streamId: `raw-${n % STREAMS}`,
    revision: BigInt(Math.floor(n / STREAMS)),
    id: randomUUID(),
    type: "OrderPlaced",
    contentType: "application/json",
    data: Buffer.from(JSON.stringify(payload(n))),
    metadata: new Uint8Array(0),
    created: nowTicks(),
  }));
  const started = performance.now();
  for (let i = 0; i < total; i += perTransaction) {
    table.transaction(() => {
      for (const row of rows.slice(i, i + perTransaction)) table.insert(row);
    });
  }
  const perSecond = total / ((performance.now() - started) / 1000);
  table.close();
  return perSecond;
}

interface ReadTimings {
  wall: number[];
  /** CPU ms of the bench process (the client library) and of the store process, per read. */
  clientCpu: number[];
  storeCpu: number[];
}

/** Reads through the official client: wall time and both processes' CPU per read. */
async function readThroughClient(client: EventStoreDBClient, stream: string, storePid: number): Promise<ReadTimings> {
  const timings: ReadTimings = { wall: [], clientCpu: [], storeCpu: [] };
  for (let i = 0; i < READ_REPEATS; i += 1) {
    const cpu = process.cpuUsage();
    const storeCpu = processCpuMillis(storePid);
    const started = performance.now();
    let count = 0;
    for await (const _ of client.readStream(stream)) count += 1;
    timings.wall.push(performance.now() - started);
    const used = process.cpuUsage(cpu);
    timings.clientCpu.push((used.user + used.system) / 1000);
    timings.storeCpu.push(processCpuMillis(storePid) - storeCpu);
    if (count !== READ_STREAM_EVENTS) throw new Error(`read ${count} events, expected ${READ_STREAM_EVENTS}`);
  }
  return timings;
}

/** Reads by a raw gRPC client that keeps the responses as bytes: the store's serving time. */
async function readRaw(connectionString: string, stream: string, storePid: number): Promise<ReadTimings & { messages: Buffer[] }> {
  const timings: ReadTimings = { wall: [], clientCpu: [], storeCpu: [] };
  let messages: Buffer[] = [];
  for (let i = 0; i < READ_REPEATS; i += 1) {
    const cpu = process.cpuUsage();
    const storeCpu = processCpuMillis(storePid);
    const read = await rawRead(connectionString, stream);
    timings.wall.push(read.millis);
    const used = process.cpuUsage(cpu);
    timings.clientCpu.push((used.user + used.system) / 1000);
    timings.storeCpu.push(processCpuMillis(storePid) - storeCpu);
    if (read.messages.length !== READ_STREAM_EVENTS) throw new Error(`raw read got ${read.messages.length} messages`);
    messages = read.messages;
  }
  return { ...timings, messages };
}

/** The store's own share of a read: the log read plus the encoding of every ReadResp, in process. */
async function storeSideReadMillis(dir: string): Promise<number[]> {
  const log = openSqliteEventLog({ dataFile: path.join(dir, "store-side.db") });
  const stream = "store-side";
  for (let i = 0; i < READ_STREAM_EVENTS; i += 500) {
    const batch = Array.from({ length: 500 }, (_, j) => ({
      id: randomUUID(),
      type: "Read",
      contentType: "application/json",
      data: Buffer.from(JSON.stringify(payload(i + j))),
      metadata: new Uint8Array(0),
    }));
    await log.append(stream, { kind: "any" }, batch);
  }
  const timings: number[] = [];
  for (let i = 0; i < READ_REPEATS; i += 1) {
    const started = performance.now();
    let bytes = 0;
    for (let from = 0n; ; ) {
      const page = log.readStream(stream, { from, direction: "forwards", maxCount: 500n });
      if (page.kind !== "ok" || page.events.length === 0) break;
      for (const entry of page.events) bytes += encodeReadEvent(entry, false).length;
      from = page.events[page.events.length - 1]!.event.revision + 1n;
    }
    timings.push(performance.now() - started);
    if (bytes === 0) throw new Error("store-side read returned nothing");
  }
  await log.close();
  return timings;
}

async function subscriptionEventsPerSecond(client: EventStoreDBClient): Promise<number> {
  const prefix = `sub-${randomUUID().slice(0, 8)}`;
  const batch = 1000;
  const marker = await client.appendToStream(`${prefix}-marker`, jsonEvent({ type: "Marker", data: {} }));
  for (let b = 0; b < SUBSCRIPTION_EVENTS / batch; b += 1) {
    await client.appendToStream(`${prefix}-${b % 10}`, Array.from({ length: batch }, (_, i) => jsonEvent({ type: "Tick", data: payload(i) })));
  }
  // Subscriptions start after the given position: exactly the 100,000 events are history.
  const startPosition = marker.position!;
  const expected = SUBSCRIPTION_EVENTS;
  const started = performance.now();
  let count = 0;
  const subscription = client.subscribeToAll({ fromPosition: startPosition });
  for await (const event of subscription) {
    if (event.event?.type === "Tick" && event.event.streamId.startsWith(prefix)) count += 1;
    if (count >= expected) break;
  }
  await subscription.unsubscribe();
  return count / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const dir = mkdtempSync(path.join(tmpdir(), "eventstore-bench-"));
  const store = await startEventStoreProcess(path.join(dir, "store.db"));
  const { child, connectionString } = store;
  const client = EventStoreDBClient.connectionString(connectionString);
  const rows: Row[] = [];
  try {
    await appendsPerSecond(client, 500, 8, "warmup");
    const sequential = await appendsPerSecond(client, APPENDS_SEQUENTIAL, 1, "seq");
    const clientCpuBefore = process.cpuUsage();
    const storeCpuBefore = processCpuMillis(child.pid!);
    const concurrent = await appendsPerSecond(client, APPENDS_CONCURRENT, 32, "conc");
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const clientMicros = ((clientCpu.user + clientCpu.system) / APPENDS_CONCURRENT).toFixed(0);
    const storeMicros = (((processCpuMillis(child.pid!) - storeCpuBefore) * 1000) / APPENDS_CONCURRENT).toFixed(0);
    const preEncoded = await preEncodedAppendsPerSecond(connectionString, APPENDS_CONCURRENT, 32, STREAMS, payload);
    const rawSequential = rawInsertsPerSecond(dir, APPENDS_SEQUENTIAL, 1);
    const rawGrouped = rawInsertsPerSecond(dir, APPENDS_CONCURRENT, 32);
    rows.push(
      { measure: "appends/s, 1 in flight (client → store)", value: sequential.toFixed(0), note: `${((sequential / rawSequential) * 100).toFixed(1)}% of ceiling` },
      {
        measure: "appends/s, 32 in flight (client → store)",
        value: concurrent.toFixed(0),
        note: `${((concurrent / rawGrouped) * 100).toFixed(1)}% of ceiling (target ≥ ${TARGET_SHARE_OF_CEILING * 100}%)`,
      },
      { measure: "  CPU per append at 32 in flight: client library / store (µs)", value: `${clientMicros} / ${storeMicros}`, note: "" },
      {
        measure: "  bound set by the client library's CPU alone (1e6 / client µs per append)",
        value: (1e6 / Number(clientMicros)).toFixed(0),
        note: `${((1e6 / Number(clientMicros) / rawGrouped) * 100).toFixed(1)}% of ceiling: one client process, even with a whole core to itself, cannot append faster`,
      },
      {
        measure: "appends/s, 32 in flight, pre-encoded requests (store capacity)",
        value: preEncoded.toFixed(0),
        note: `${((preEncoded / rawGrouped) * 100).toFixed(1)}% of ceiling; raw gRPC client, no client-library CPU`,
      },
      { measure: "ceiling: raw inserts/s, 1 row per transaction", value: rawSequential.toFixed(0) },
      { measure: "ceiling: raw inserts/s, 32 rows per transaction", value: rawGrouped.toFixed(0) },
    );

    const stream = `read-${randomUUID()}`;
    for (let i = 0; i < READ_STREAM_EVENTS; i += 500) {
      await client.appendToStream(stream, Array.from({ length: 500 }, (_, j) => jsonEvent({ type: "Read", data: payload(i + j) })));
    }
    const throughClient = await readThroughClient(client, stream, child.pid!);
    const raw = await readRaw(connectionString, stream, child.pid!);
    const decodeOnly = Array.from({ length: READ_REPEATS }, () => clientDecodeMillis(raw.messages));
    const events = READ_STREAM_EVENTS.toLocaleString("en");
    const spread = (values: number[]) => `min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)}`;
    rows.push(
      {
        measure: `read a ${events}-event stream through the client, median of ${READ_REPEATS} (ms)`,
        value: median(throughClient.wall).toFixed(1),
        note: `${spread(throughClient.wall)} (target ≤ ${TARGET_READ_MS} ms)`,
      },
      {
        measure: "  CPU per read: client process / store process (ms)",
        value: `${median(throughClient.clientCpu).toFixed(0)} / ${median(throughClient.storeCpu).toFixed(0)}`,
        note: "medians; the store's from /proc at 10 ms resolution",
      },
      {
        measure: `read the same stream with a raw gRPC client, responses kept as bytes (ms)`,
        value: median(raw.wall).toFixed(1),
        note: `${spread(raw.wall)}; the store serving it; store CPU per read ${median(raw.storeCpu).toFixed(0)} ms, raw client's ${median(raw.clientCpu).toFixed(0)} ms`,
      },
      {
        measure: `  client library decoding those ${events} responses alone, no transport (ms CPU)`,
        value: median(decodeOnly).toFixed(1),
        note: `${spread(decodeOnly)}; google-protobuf deserializeBinary + the client's event conversion (JSON.parse of data)${
          median(decodeOnly) > TARGET_READ_MS ? ": alone above the target" : ""
        }`,
      },
    );

    const storeSide = await storeSideReadMillis(dir);
    rows.push({
      measure: `  store in process: log read + ReadResp encoding of ${READ_STREAM_EVENTS.toLocaleString("en")} events (ms)`,
      value: median(storeSide).toFixed(1),
      note: "no gRPC, no client decoding",
    });

    const subscription = await subscriptionEventsPerSecond(client);
    rows.push({ measure: `catch-up subscription over ${SUBSCRIPTION_EVENTS.toLocaleString("en")} events (events/s)`, value: subscription.toFixed(0) });
  } finally {
    await client.dispose().catch(() => {});
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  report(rows, loadBefore, loadavg()[0]!);
}

function report(rows: Row[], loadBefore: number, loadAfter: number): void {
  const cpu = cpus();
  const header = [
    "# Embedded event store benchmark",
    "",
    `- date: ${new Date().toISOString()}`,
    `- machine: ${cpu.length} cores (nproc), ${cpu[0]?.model ?? "unknown cpu"}, node ${process.version}`,
    `- 1-minute load average: ${loadBefore.toFixed(2)} at start, ${loadAfter.toFixed(2)} at end (other work on this shared machine competes for the same cores)`,
    `- durability: ${DURABILITY} (every acknowledged append is fsynced, group-committed)`,
    "- command: `npm run bench:eventstore`",
    `- setup: store in its own process on a temp data file; client = @eventstore/db-client in the bench process; 1 event per append over ${STREAMS} streams`,
    "",
    "| measure | value | note |",
    "| --- | ---: | --- |",
    ...rows.map((row) => `| ${row.measure} | ${row.value} | ${row.note ?? ""} |`),
    "",
    "The machine is shared and small: compare the ratios measured in one run, not absolute figures across runs.",
    "",
  ].join("\n");
  process.stdout.write(header);
  mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(path.join(ROOT, "bench/results/eventstore.md"), header);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`benchmark failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
