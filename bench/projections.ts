// Projection benchmarks (`npm run bench:projections`; BENCH_EVENTS overrides the event count):
//  1. rebuild rate of the inventory-movements read model over BENCH_EVENTS (default 1,000,000)
//     product events, next to two ceilings measured in the same run: reading the same events
//     from $all, and raw better-sqlite3 upserts of the same rows (one per event) at the same
//     durability as the rebuild's copy;
//  2. projection lag (command acknowledged → product read model applied it) p50/p99 under a
//     steady 500 commands/s through the product command service, on a store of its own, with the
//     projector in a process of its own (bench/lib/projector-child.ts).
// BENCH_PARTS=rebuild or BENCH_PARTS=lag runs one part. Stores and the command service run in
// processes of their own, as deployed. Results: bench/results/projections.md.
import { randomUUID } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { EventStoreDBClient } from "@eventstore/db-client";
import { ProductCommandService } from "../gen/eventmall/product/v1/commands_pb";
import { ADMIN_ROLE, createTokenService } from "../src/kernel/auth/auth";
import { workerAllReader } from "../src/kernel/read/all-reader";
import { decodePositionToken } from "../src/kernel/read/read-your-writes";
import { migrateReadDb } from "../src/kernel/read/read-db";
import { rebuildProjection } from "../src/kernel/read/rebuild";
import { inventoryMovementsProjection } from "../src/report/inventory-movements";
import { inventoryChanged, productCreated } from "../test/projections/support";
import { unaryCaller } from "./lib/grpc-unary";
import { gitRevision, hostSpeedMs } from "./lib/machine";
import { monotonicMs, processCpuMillis, startEventStoreProcess, startProjectorProcess, startServiceProcess } from "./lib/processes";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const EVENTS_PER_PRODUCT = 100;
const LAG_RATE = Number(process.env.BENCH_LAG_RATE ?? 500);
const LAG_SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 20);
/** Seconds at LAG_RATE before the measured ones (not counted): every process's first seconds at a new load. */
const LAG_WARMUP_SECONDS = Number(process.env.BENCH_LAG_WARMUP_SECONDS ?? 5);
const LAG_PRODUCTS = 50;
const SEED_APPENDS_IN_FLIGHT = 4;
const LAG_MAX_IN_FLIGHT = 200;
/** Which parts run: "rebuild", "lag" or both (default). */
const PARTS = new Set((process.env.BENCH_PARTS ?? "rebuild,lag").split(","));
const rows: { measure: string; value: string; note?: string }[] = [];
const log = (line: string) => process.stdout.write(`${line}\n`);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function seed(client: EventStoreDBClient): Promise<void> {
  const started = Date.now();
  let written = 0;
  let lastLine = 0;
  const inFlight = new Set<Promise<unknown>>();
  for (let product = 0; written < EVENTS; product++) {
    const id = randomUUID();
    const events = [productCreated(id, 1_000n, product % 7)];
    for (let i = 1; i < EVENTS_PER_PRODUCT && written + events.length < EVENTS; i++) {
      events.push(inventoryChanged(id, i % 3 === 0 ? -1n : BigInt((i % 9) + 1), (product + i) % 365));
    }
    // A few appends (to different streams) in flight at once, as concurrent writers would.
    while (inFlight.size >= SEED_APPENDS_IN_FLIGHT) await Promise.race(inFlight);
    const append = client.appendToStream(`product-${id}`, events);
    inFlight.add(append);
    void append.finally(() => inFlight.delete(append));
    written += events.length;
    if (Date.now() - lastLine > 5_000) {
      lastLine = Date.now();
      log(`seeded ${written}/${EVENTS} events (${Math.round(written / ((Date.now() - started) / 1000))} events/s)`);
    }
  }
  await Promise.all(inFlight);
  rows.push({ measure: "seeding through the client", value: `${Math.round(EVENTS / ((Date.now() - started) / 1000))} events/s`, note: `${EVENTS_PER_PRODUCT} events per append, ${SEED_APPENDS_IN_FLIGHT} appends in flight` });
}

/** Reading the product events from $all the way the rebuild does (worker thread), without applying them. */
async function readCeiling(connectionString: string): Promise<number> {
  const started = Date.now();
  let count = 0;
  const reader = workerAllReader(connectionString, { filter: inventoryMovementsProjection.filter, pageSize: 2_000 });
  try {
    for (let page = await reader.next(); page; page = await reader.next()) count += page.events.length;
  } finally {
    await reader.close();
  }
  return count / ((Date.now() - started) / 1000);
}

/** Upserts of the rows the projection writes, one per event, straight into SQLite (no store, no Prisma). */
async function insertCeiling(connectionString: string, dir: string): Promise<number> {
  const movements: [string, string, bigint, bigint][] = [];
  const reader = workerAllReader(connectionString, { filter: inventoryMovementsProjection.filter, pageSize: 2_000 });
  for (let page = await reader.next(); page; page = await reader.next()) {
    for (const e of page.events) {
      const data = e.data as { quantity?: string; inventory?: string; changedAt?: string; createdAt?: string };
      const day = (data.changedAt ?? data.createdAt ?? "").slice(0, 10);
      const quantity = BigInt(data.quantity ?? data.inventory ?? "0");
      movements.push([e.streamId.slice(8), day, e.type.endsWith("Decreased") ? 0n : quantity, e.type.endsWith("Decreased") ? quantity : 0n]);
    }
  }
  await reader.close();
  const url = path.join(dir, "ceiling.db");
  await migrateReadDb(`file:${url}`);
  const db = new Database(url);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const upsert = db.prepare(
    `INSERT INTO inventory_movement_daily (product_id, day, increased, decreased, movements) VALUES (?, ?, ?, ?, 1)
     ON CONFLICT (product_id, day) DO UPDATE SET increased = increased + excluded.increased, decreased = decreased + excluded.decreased, movements = movements + 1`,
  );
  const batch = db.transaction((slice: typeof movements) => {
    for (const m of slice) upsert.run(...m);
  });
  const started = Date.now();
  for (let i = 0; i < movements.length; i += 1_000) batch(movements.slice(i, i + 1_000));
  const rate = movements.length / ((Date.now() - started) / 1000);
  db.close();
  return rate;
}

async function rebuildBench(client: EventStoreDBClient, connectionString: string, dir: string): Promise<number> {
  const liveUrl = `file:${path.join(dir, "read.db")}`;
  await migrateReadDb(liveUrl);
  const started = Date.now();
  let lastLine = 0;
  const result = await rebuildProjection({
    client,
    connectionString,
    liveUrl,
    projection: inventoryMovementsProjection,
    onProgress: (p) => {
      if (Date.now() - lastLine < 5_000) return;
      lastLine = Date.now();
      log(`rebuild: ${p.scanned} events, ${Math.round(p.scanned / ((Date.now() - started) / 1000))} events/s`);
    },
  });
  const seconds = (Date.now() - started) / 1000;
  log(`rebuild done: ${result.scanned} events in ${seconds.toFixed(1)} s, rows ${JSON.stringify(result.rows)}`);
  return result.scanned / seconds;
}

/**
 * Lag = the product read model applied a command's event − the client received the command's
 * acknowledgement. On a store of its own: on the rebuild's store the product projection would
 * first have to work through the seeded history (with 1,000,000 events it had not reached the
 * bench's commands when the harness gave up: 0 of 10,000 matched).
 */
async function lagBench(dir: string): Promise<void> {
  // Store, command service and projector in processes of their own (as deployed); the projector
  // reports each committed run over IPC with its time on the shared monotonic clock.
  const store = await startEventStoreProcess(path.join(dir, "lag-store.db"));
  const url = `file:${path.join(dir, "lag.db")}`;
  await migrateReadDb(url);
  // The projector reports each committed run by its last position; checkpoints only move forward,
  // so an event is applied once any report reaches its position.
  const applied: { position: bigint; at: number }[] = [];
  const appliedThrough = () => applied.at(-1)?.position ?? -1n;
  const appliedAt = (position: bigint): number | undefined => {
    let low = 0;
    let high = applied.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (applied[mid]!.position < position) low = mid + 1;
      else high = mid;
    }
    return applied[low]?.at;
  };
  const projector = await startProjectorProcess({ EVENTSTORE_CONNECTION_STRING: store.connectionString, READ_DATABASE_URL: url }, (position, at) => applied.push({ position, at }));
  const secret = "x".repeat(40);
  const server = await startServiceProcess(
    "command",
    [],
    { EVENTSTORE_CONNECTION_STRING: store.connectionString, COMMAND_PORT: "0", COMMAND_CONTEXTS: "product", AUTH_TOKEN_SECRET: secret, DATA_DIR: dir },
    /command service listening on (\S+)/,
  );
  const tokens = createTokenService({ dataDir: dir, auth: { tokenSecret: secret, tokenTtlSeconds: 3600 } });
  const token = (await tokens.issue({ subject: "bench", roles: [ADMIN_ROLE] })).token;
  // Through a lean grpc-js caller: this process also runs the projector it measures.
  const auth = { authorization: `Bearer ${token}` };
  const createProduct = unaryCaller(server.match[1]!, ProductCommandService.method.createProduct, auth);
  const increaseInventory = unaryCaller(server.match[1]!, ProductCommandService.method.increaseInventory, auth);
  const ids: string[] = [];
  let setupPosition = 0n;
  for (let i = 0; i < LAG_PRODUCTS; i++) {
    const created = await createProduct.call({ name: `lag ${i}`, price: 1n, inventory: 1_000_000n, imagePath: "", description: "" }, 30_000);
    ids.push(created.productId);
    setupPosition = decodePositionToken(created.result!.positionToken);
  }
  createProduct.close();
  await until(() => appliedThrough() >= setupPosition, 60_000);

  // Open loop at LAG_RATE, with at most LAG_MAX_IN_FLIGHT commands outstanding: if the command
  // path is slower than the schedule, the achieved rate says so (rather than an unbounded queue).
  // The first LAG_WARMUP_SECONDS of sends run the same way and are not counted.
  const acknowledged: { position: bigint; sent: number; at: number }[] = [];
  const warmupAcknowledged: { position: bigint; at: number }[] = [];
  let tokenMismatches = 0;
  let failures = 0;
  const warmupSends = LAG_RATE * LAG_WARMUP_SECONDS;
  let projectorCpuAtMeasuring = processCpuMillis(projector.pid);
  const total = warmupSends + LAG_RATE * LAG_SECONDS;
  const started = monotonicMs();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / LAG_RATE;
    const wait = due - monotonicMs();
    if (i === warmupSends) projectorCpuAtMeasuring = processCpuMillis(projector.pid);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    while (inFlight.size >= LAG_MAX_IN_FLIGHT) await Promise.race(inFlight);
    const sent = monotonicMs();
    const call = increaseInventory.call({ productId: ids[i % ids.length]!, quantity: 1n }, 30_000).then(
      (r) => {
        const at = monotonicMs();
        const position = decodePositionToken(r.result!.positionToken);
        if (position !== r.result!.commitPosition) tokenMismatches++;
        if (i >= warmupSends) acknowledged.push({ position, sent, at });
        else warmupAcknowledged.push({ position, at });
      },
      () => void (i >= warmupSends && failures++),
    );
    inFlight.add(call);
    void call.finally(() => inFlight.delete(call));
  }
  await Promise.all(inFlight);
  const projectorCpuAfterSends = processCpuMillis(projector.pid);
  const sendSeconds = (monotonicMs() - started) / 1000;
  const lastAcknowledged = acknowledged.reduce((max, a) => (a.position > max ? a.position : max), 0n);
  await until(() => appliedThrough() >= lastAcknowledged, 60_000);
  increaseInventory.close();
  const lagsOf = (acks: { position: bigint; at: number }[]) => acks.filter((a) => appliedAt(a.position) !== undefined).map((a) => Math.max(0, appliedAt(a.position)! - a.at));
  const lags = lagsOf(acknowledged);
  const warmupLags = lagsOf(warmupAcknowledged);
  const latencies = acknowledged.map((a) => a.at - a.sent);
  for (let second = 0; second < LAG_SECONDS; second++) {
    const inSecond = acknowledged.filter((a) => Math.floor((a.sent - started) / 1000) - LAG_WARMUP_SECONDS === second);
    const secondLags = lagsOf(inSecond);
    log(`lag second ${second}: ${inSecond.length} commands, lag p50 ${percentile(secondLags, 50).toFixed(1)} ms, p99 ${percentile(secondLags, 99).toFixed(1)} ms, command p99 ${percentile(inSecond.map((a) => a.at - a.sent), 99).toFixed(1)} ms`);
  }
  rows.push({
    measure: "commands sent (IncreaseInventory)",
    value: `${total} in ${sendSeconds.toFixed(1)} s (${Math.round(total / sendSeconds)}/s achieved, ${LAG_RATE}/s target)`,
    note: `the first ${warmupSends} (${LAG_WARMUP_SECONDS} s) not counted below; at most ${LAG_MAX_IN_FLIGHT} in flight; ${failures} failed; command latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
  });
  rows.push({
    measure: "projector CPU per event (measured part)",
    value: `${((projectorCpuAfterSends - projectorCpuAtMeasuring) / Math.max(1, acknowledged.length)).toFixed(3)} ms`,
    note: "from /proc (10 ms ticks) over the measured sends; the projector shares the 2 cores with the store, the command service and this process",
  });
  rows.push({ measure: `projection lag in the first ${LAG_WARMUP_SECONDS} s (warm-up, not counted)`, value: `p50 ${percentile(warmupLags, 50).toFixed(1)} ms, p99 ${percentile(warmupLags, 99).toFixed(1)} ms`, note: `${warmupLags.length} commands` });
  rows.push({ measure: "projection lag p50", value: `${percentile(lags, 50).toFixed(1)} ms`, note: "command acknowledged → product read model applied it (its transaction committed)" });
  rows.push({
    measure: "projection lag p99",
    value: `${percentile(lags, 99).toFixed(1)} ms`,
    note: `target ≤ 50 ms; ${lags.length}/${acknowledged.length} matched by position token (${tokenMismatches} tokens ≠ commit_position)`,
  });
  await server.stop();
  await projector.stop();
  await store.stop();
}

const HOW_TO_READ = `## How to read this

- **Rebuild.** \`rebuildProjection\` (what \`npm run projections -- rebuild\` runs) builds the
  inventory-movements read model into a fresh copy from the start of $all and swaps it in; the
  rate is end to end (creating the copy, the build pass, the swap). Its events come through the
  official client (@eventstore/db-client: grpc-js, google-protobuf, the client's event
  conversion), read in a worker thread while the main thread applies. The two ceilings are
  measured in the same run: reading the same events from $all the same way with nothing else to
  do, and raw better-sqlite3 upserts of the same rows with one prepared statement (no store, no
  client, no Prisma). The rebuild cannot be faster than the reading ceiling, so ≥ 50% of the
  upsert ceiling needs the reading ceiling itself to reach half the upsert rate; on this machine
  one client decodes several times slower than that, and with store, reader and applier sharing
  two cores a second reader would only take CPU from the other two.
- **Lag.** Store, command service and product projector run as processes of their own, as
  deployed, and the benchmark process only sends IncreaseInventory commands (open loop at the
  rate, lean grpc-js caller). Lag = the projector's commit of the run that holds a command's event
  − the client's receipt of that command's acknowledgement, both on the machine's monotonic clock
  (the projector reports each committed run's last position over IPC; checkpoints only move
  forward). The first seconds at the rate are reported on their own row and not counted: every
  process starts cold (JIT, heap growth, connection windows). The projector's CPU per event says
  what one event costs it (one read-database transaction per run of deliveries; a run of one
  event is five Prisma queries, checkpoint and retry bookkeeping included); the four
  processes share two cores, so stalls of any of them (garbage collection above all: see
  BENCHMARKS.md, benchmark 3) make the tail.
`;

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "bench-projections-"));
  const loadBefore = loadavg()[0]!.toFixed(1);
  const speedBefore = hostSpeedMs();
  try {
    if (PARTS.has("rebuild")) {
      // The store in a process of its own, as `npm run projections -- rebuild` meets it.
      const store = await startEventStoreProcess(path.join(dir, "store.db"));
      const client = EventStoreDBClient.connectionString(store.connectionString);
      try {
        await seed(client);
        const readRate = await readCeiling(store.connectionString);
        const insertRate = await insertCeiling(store.connectionString, dir);
        const rebuildRate = await rebuildBench(client, store.connectionString, dir);
        rows.push({ measure: "rebuild (npm run projections -- rebuild)", value: `${Math.round(rebuildRate)} events/s`, note: `target ≥ 20,000 events/s; ${EVENTS} events; end to end (creating the copy, build pass, swap)` });
        rows.push({ measure: "ceiling: raw upserts of the same rows", value: `${Math.round(insertRate)} events/s`, note: `rebuild = ${Math.round((100 * rebuildRate) / insertRate)}% of it (target ≥ 50%)` });
        rows.push({ measure: "ceiling: reading the same events from $all", value: `${Math.round(readRate)} events/s`, note: `rebuild = ${Math.round((100 * rebuildRate) / readRate)}% of it` });
      } finally {
        await client.dispose();
        await store.stop();
      }
    }
    if (PARTS.has("lag")) await lagBench(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const report = [
    "# Projection benchmarks",
    "",
    `Command: \`${["BENCH_EVENTS", "BENCH_PARTS", "BENCH_LAG_RATE", "BENCH_LAG_SECONDS", "BENCH_LAG_WARMUP_SECONDS"].filter((key) => process.env[key]).map((key) => `${key}=${process.env[key]} `).join("")}npm run bench:projections\` — ${new Date().toISOString()}, commit ${gitRevision()}`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}; load average ${loadBefore} at start, ${loadavg()[0]!.toFixed(1)} at end (shared machine); host speed (bench/lib/machine.ts hostSpeedMs, lower is faster) ${speedBefore.toFixed(0)} ms at start, ${hostSpeedMs().toFixed(0)} ms at end.`,
    "Rebuild part: the embedded store in a process of its own on a temp file (as `npm run projections -- rebuild` meets it); the rebuild reads $all in a worker thread. Read database: SQLite (WAL); the rebuild's copy runs with synchronous=OFF (disposable until the swap), the ceiling likewise.",
    "Lag part: store (on a temp file), command service and product projector (SQLite read database, WAL) in processes of their own; the benchmark process only sends the commands.",
    "",
    "| measure | value | note |",
    "|---|---|---|",
    ...rows.map((r) => `| ${r.measure} | ${r.value} | ${r.note ?? ""} |`),
    "",
    HOW_TO_READ,
  ].join("\n");
  mkdirSync(path.join(import.meta.dirname, "results"), { recursive: true });
  writeFileSync(path.join(import.meta.dirname, "results", "projections.md"), report);
  log(report);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
