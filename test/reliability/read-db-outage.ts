// Read-database outages under load, with real processes: the embedded store, a command service
// and a projector (READ_DATABASE_URL = a PostgreSQL server of the test's own, or a SQLite file)
// while ~20 commands/s arrive over gRPC (IncreaseInventory on a few products, a CreateProduct every
// tenth). At scheduled moments the read database goes away (PostgreSQL: `pg_ctl stop -m fast`,
// started again after the outage; SQLite: another process holds `BEGIN EXCLUSIVE`) and, in the
// chaos version, processes get SIGKILL beside it. Then, once the projector has caught up: every
// projection verifies equal to a build from $all, no group parked anything, and every
// acknowledged command's effect is in the read model. PROJECTOR_MAX_RETRIES is small, so a
// runtime that counted outage failures toward parking would park within the outage.
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BACKWARDS, END, EventStoreDBClient } from "@eventstore/db-client";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { InventoryIncreasedSchema } from "../../gen/eventmall/product/v1/events_pb";
import { projections, reactors } from "../../services/projector/projections";
import { matchesFilter } from "../../src/kernel/read/all-events";
import { groupName, type Projection } from "../../src/kernel/read/projector";
import { readCheckpoint } from "../../src/kernel/read/projector-checkpoint";
import { migrateReadDb, openReadDb, type ReadDb, type ReadDbProvider } from "../../src/kernel/read/read-db";
import { verifyProjection } from "../../src/kernel/read/verify";
import { ProductStream } from "../../src/product/decider";
import { operatorCredentials } from "../support/operator";
import { startPrivatePostgres, type PrivatePostgres } from "../support/private-postgres";
import { createTestDatabase, type TestReadDb } from "../support/read-db";
import { freePort, ServiceSet, sleep } from "../support/service-set";
import { seededRandom, type Victim } from "./crash";

export type Fault = { kind: "outage"; atMs: number; durationMs: number } | { kind: "kill"; atMs: number; victim: Victim };

export interface OutageOptions {
  provider: ReadDbProvider;
  /** Moments are from the start of the load; outages never overlap each other (a later one waits). */
  faults: Fault[];
  /** Load goes on this long after the last fault ended. */
  tailMs: number;
  products: number;
  commandsPerSecond: number;
  /** PROJECTOR_MAX_RETRIES: small, so that counting outage failures would park at once. */
  maxRetries: number;
}

export interface OutageResult {
  commandsSent: number;
  acknowledged: number;
  /** Failed while a process was down (outcome unknown to the caller). */
  failed: number;
  productsCreated: number;
  outages: Array<{ atMs: number; durationMs: number; projectorReportedWaiting: boolean }>;
  kills: Array<{ victim: Victim; atMs: number }>;
  /** Acknowledged increases whose event is not in the store: must be 0. */
  lostAcknowledged: number;
  /** Acknowledged effects missing from the read model (products absent, inventories off). */
  readModelMisses: string[];
  /** Per projection: the tables that differ from a build from $all. */
  verifyDifferences: string[];
  projectionsVerified: number;
  /** Per subscription group: parked messages (must all be 0). */
  parked: Record<string, number>;
  /** How long the projector took to catch up after the load stopped. */
  catchUpMs: number;
  unplannedExits: string[];
}

const scenarioStart = Date.now();
/** OUTAGE_PROGRESS=1 prints where the time goes. */
const progress = (what: string) => {
  if (process.env.OUTAGE_PROGRESS) process.stderr.write(`[outage +${Date.now() - scenarioStart} ms] ${what}\n`);
};

/** A read database that can be taken away and given back. */
interface OutageTarget {
  url: string;
  /** Makes the database unusable until the returned function is called (and awaited). */
  takeAway(): Promise<() => Promise<void>>;
  destroy(): Promise<void>;
}

async function postgresTarget(): Promise<OutageTarget> {
  const server: PrivatePostgres = await startPrivatePostgres();
  return {
    url: server.url,
    async takeAway() {
      await server.stop();
      return () => server.start();
    },
    destroy: () => server.destroy(),
  };
}

async function sqliteTarget(): Promise<OutageTarget> {
  const database: TestReadDb = await createTestDatabase("sqlite");
  const file = database.url.slice("file:".length);
  return {
    url: database.url,
    async takeAway() {
      // Another process (its own better-sqlite3) holds the write lock until told to let go.
      const script = `
        const db = new (require("better-sqlite3"))(process.argv[1], { timeout: 30000 });
        db.exec("BEGIN EXCLUSIVE");
        process.stdout.write("locked\\n");
        process.stdin.once("data", () => { db.exec("COMMIT"); db.close(); process.exit(0); });`;
      const locker = spawn(process.execPath, ["-e", script, file], { cwd: path.resolve(import.meta.dirname, "../.."), stdio: ["pipe", "pipe", "inherit"] });
      await new Promise<void>((resolve, reject) => {
        locker.stdout.once("data", () => resolve());
        locker.once("exit", (code) => reject(new Error(`the SQLite locker exited (${code}) before taking the lock`)));
      });
      return async () => {
        const exited = new Promise((resolve) => locker.once("exit", resolve));
        locker.stdin.write("go\n");
        await exited;
      };
    },
    destroy: () => database.drop(),
  };
}

export async function runReadDbOutageScenario(options: OutageOptions): Promise<OutageResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "eventmall-outage-"));
  const operator = await operatorCredentials();
  const [storePort, commandPort] = [await freePort(), await freePort()];
  const connectionString = `esdb://127.0.0.1:${storePort}?tls=false`;
  let target: OutageTarget | undefined;
  let db: ReadDb | undefined;
  const services = new ServiceSet<Victim>(
    {
      eventstore: () => ({ EVENTSTORE_PORT: String(storePort), EVENTSTORE_DATA_FILE: path.join(dir, "eventstore.db"), DATA_DIR: dir }),
      command: () => ({ EVENTSTORE_CONNECTION_STRING: connectionString, COMMAND_PORT: String(commandPort), COMMAND_CONTEXTS: "product", AUTH_TOKEN_SECRET: operator.secret, DATA_DIR: dir }),
      projector: () => ({
        EVENTSTORE_CONNECTION_STRING: connectionString,
        READ_DATABASE_URL: target!.url,
        PROJECTOR_MAX_RETRIES: String(options.maxRetries),
        PROJECTOR_RETRY_BASE_MS: "20",
        DATA_DIR: dir,
      }),
    },
    (name) => progress(`${name} ready`),
  );
  const store = EventStoreDBClient.connectionString(connectionString);
  try {
    const targetReady = (options.provider === "postgresql" ? postgresTarget() : sqliteTarget()).then(async (created) => {
      target = created;
      await migrateReadDb(created.url);
    });
    await Promise.all([services.start("eventstore"), targetReady]);
    db = await openReadDb(target!.url);
    progress("read database migrated");
    await Promise.all([services.start("command"), services.start("projector")]);
    const client: Client<typeof ProductCommandService> = createClient(
      ProductCommandService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${commandPort}`, interceptors: [operator.asOperator] }),
    );
    const INITIAL = 1_000n;
    const steady: string[] = [];
    for (let i = 0; i < options.products; i++) steady.push((await client.createProduct({ name: `Steady ${i}`, price: 100n, inventory: INITIAL })).productId);

    // Load: one command every 1/rate s, each on its own (a slow answer does not slow the rate).
    // Increases carry quantities no other command uses, so the store shows which ones landed.
    const acknowledgedIncreases = new Map<bigint, string>();
    const created = new Map<string, string>();
    const inFlight = new Set<Promise<void>>();
    let commandsSent = 0;
    let failed = 0;
    let loadRunning = true;
    const send = async (k: number) => {
      try {
        if (k % 10 === 0) {
          const name = `Created ${k}`;
          created.set((await client.createProduct({ name, price: 250n, inventory: 7n }, { timeoutMs: 10_000 })).productId, name);
        } else {
          const quantity = BigInt(k);
          const productId = steady[k % steady.length]!;
          await client.increaseInventory({ productId, quantity }, { timeoutMs: 10_000 });
          acknowledgedIncreases.set(quantity, productId);
        }
      } catch (error) {
        if (!(error instanceof ConnectError) || error.code === Code.InvalidArgument || error.code === Code.PermissionDenied) throw error;
        failed++;
      }
    };
    const load = (async () => {
      const interval = 1_000 / options.commandsPerSecond;
      const began = Date.now();
      for (let k = 1; loadRunning; k++) {
        commandsSent++;
        const sent = send(k).finally(() => inFlight.delete(sent));
        inFlight.add(sent);
        await sleep(Math.max(0, began + k * interval - Date.now()));
      }
      await Promise.all(inFlight);
    })();
    progress("load started");

    // Faults: kills in order; outages in the background, one after another.
    const began = Date.now();
    const kills: OutageResult["kills"] = [];
    const outages: OutageResult["outages"] = [];
    let outageChain = Promise.resolve();
    const outage = async (durationMs: number) => {
      const atMs = Date.now() - began;
      const mark = { service: services.running.get("projector")!, line: services.running.get("projector")!.lines.length, started: services.started.length };
      const giveBack = await target!.takeAway();
      progress(`read database taken away for ${durationMs} ms`);
      await sleep(durationMs);
      // Asked while the database is still away: what the projector said during the outage.
      const said = [...mark.service.lines.slice(mark.line), ...services.started.slice(mark.started).flatMap(({ name, service }) => (name === "projector" ? service.lines : []))];
      await giveBack();
      progress("read database back");
      // The runner logs the start of a wait once: an outage that began before it noticed the last
      // one was over (its backoff is up to 5 s) is the same wait going on.
      const stillWaiting = lastProductWaitState(mark.service.lines.slice(0, mark.line)) === "waiting";
      outages.push({ atMs, durationMs, projectorReportedWaiting: stillWaiting || said.some((line) => WAITING.test(line)) });
    };
    for (const fault of [...options.faults].sort((a, b) => a.atMs - b.atMs)) {
      await sleep(Math.max(0, began + fault.atMs - Date.now()));
      if (fault.kind === "outage") {
        outageChain = outageChain.then(() => outage(fault.durationMs));
      } else {
        await services.kill(fault.victim);
        progress(`${fault.victim} killed`);
        kills.push({ victim: fault.victim, atMs: Date.now() - began });
        await services.start(fault.victim);
      }
    }
    await outageChain;
    await sleep(options.tailMs);
    loadRunning = false;
    await load;
    progress(`load stopped: ${commandsSent} sent, ${failed} failed`);

    await services.ensureRunning();
    const caughtUpFrom = Date.now();
    await waitUntilCaughtUp(store, db, projections, 120_000);
    const catchUpMs = Date.now() - caughtUpFrom;
    progress("projector caught up");

    // Every acknowledged increase is in the store (an unacknowledged one may be too: its outcome
    // was unknown to the caller), and the read model shows exactly what the store holds.
    const stored = new Map<string, bigint>();
    let lostAcknowledged = 0;
    const recorded = new Set<bigint>();
    for (const productId of steady) {
      let sum = INITIAL;
      for await (const resolved of store.readStream(`${ProductStream.prefix}${productId}`)) {
        if (resolved.event?.type !== InventoryIncreasedSchema.typeName) continue;
        const quantity = BigInt((resolved.event.data as { quantity: string }).quantity);
        recorded.add(quantity);
        sum += quantity;
      }
      stored.set(productId, sum);
    }
    for (const quantity of acknowledgedIncreases.keys()) if (!recorded.has(quantity)) lostAcknowledged++;
    const readModelMisses: string[] = [];
    const rows = new Map((await db.product.findMany({ where: { id: { in: [...steady, ...created.keys()] } } })).map((row) => [row.id, row]));
    for (const productId of steady) {
      const acknowledgedSum = [...acknowledgedIncreases].filter(([, id]) => id === productId).reduce((sum, [quantity]) => sum + quantity, INITIAL);
      const inventory = rows.get(productId)?.inventory;
      if (inventory === undefined) readModelMisses.push(`${productId}: missing`);
      else if (inventory !== stored.get(productId) || inventory < acknowledgedSum) {
        readModelMisses.push(`${productId}: inventory ${inventory}, store says ${stored.get(productId)}, acknowledged increases sum to ${acknowledgedSum}`);
      }
    }
    for (const [productId, name] of created) {
      const row = rows.get(productId);
      if (!row || row.name !== name || row.inventory !== 7n) readModelMisses.push(`${productId} (${name}): ${row ? `${row.name}, inventory ${row.inventory}` : "missing"}`);
    }
    progress("effects checked");

    const verifyDifferences: string[] = [];
    for (const projection of projections) {
      const verified = await verifyProjection({ client: store, liveUrl: target!.url, projection });
      for (const d of verified.differences) verifyDifferences.push(`${projection.name}.${d.table}: ${d.onlyLive} rows only live, ${d.onlyRebuilt} only rebuilt`);
    }
    progress("verified");
    const parked: Record<string, number> = {};
    for (const handler of [...projections, ...reactors({ client: store, snapshotEvery: 0, maxConflictRetries: 0 })]) {
      const group = groupName(handler);
      parked[group] = Number((await store.getPersistentSubscriptionToAllInfo(group)).stats.parkedMessageCount);
    }
    return {
      commandsSent,
      acknowledged: acknowledgedIncreases.size + created.size,
      failed,
      productsCreated: created.size,
      outages,
      kills,
      lostAcknowledged,
      readModelMisses,
      verifyDifferences,
      projectionsVerified: projections.length,
      parked,
      catchUpMs,
      unplannedExits: services.unplannedExits,
    };
  } finally {
    await services.stopAll();
    progress("processes stopped");
    await Promise.race([store.dispose(), sleep(5_000)]);
    await db?.$disconnect();
    await target?.destroy();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const WAITING = /read database unreachable: waiting/;
const RECOVERED = /infrastructure reachable again/;

/** What the product projection's runner last said about the read database, if anything. */
function lastProductWaitState(lines: string[]): "waiting" | "recovered" | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (!line.includes('"projection":"product"')) continue;
    if (WAITING.test(line)) return "waiting";
    if (RECOVERED.test(line)) return "recovered";
  }
  return undefined;
}

/** Until every projection's checkpoint has reached the last event in $all it subscribes to. */
async function waitUntilCaughtUp(store: EventStoreDBClient, db: ReadDb, handlers: Projection[], timeoutMs: number): Promise<void> {
  const targets = new Map<string, bigint>();
  for await (const resolved of store.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 100_000 })) {
    const event = resolved.event;
    if (!event?.position) continue;
    for (const handler of handlers) {
      if (!targets.has(handler.name) && matchesFilter(handler.filter, { streamId: event.streamId, type: event.type })) targets.set(handler.name, event.position.commit);
    }
    if (targets.size === handlers.length) break;
  }
  const deadline = Date.now() + timeoutMs;
  for (const [name, position] of targets) {
    while (((await readCheckpoint(db, name))?.commit ?? -1n) < position) {
      if (Date.now() > deadline) throw new Error(`projection ${name} did not reach position ${position} within ${timeoutMs} ms`);
      await sleep(200);
    }
  }
}
