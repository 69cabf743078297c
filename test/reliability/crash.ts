// Crash recovery with real processes: the embedded event store (on a data file), a command
// service and a projector run as OS processes while workers send inventory commands. At seeded
// random moments one of them gets SIGKILL and is started again (same port, same files). Then:
// every command answered OK has its event in the store, and the product read model equals a
// fresh rebuild from the store (nothing missing, nothing doubled). Shared by the light and chaos
// tests with different sizes.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EventStoreDBClient } from "@eventstore/db-client";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { InventoryIncreasedSchema } from "../../gen/eventmall/product/v1/events_pb";
import { catchUp } from "../../src/kernel/read/catch-up";
import { readCheckpoint } from "../../src/kernel/read/projector-checkpoint";
import { headPosition } from "../../src/kernel/read/all-events";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { productProjection } from "../../src/product/projection";
import { operatorCredentials } from "../support/operator";
import { freePort, ServiceSet, sleep } from "../support/service-set";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";

export type Victim = "eventstore" | "command" | "projector";

export interface CrashResult {
  commandsSent: number;
  acknowledged: number;
  /** Failed during a fault (outcome unknown to the caller: may or may not have landed). */
  failed: number;
  faults: Array<{ victim: Victim; atMs: number }>;
  /** Acknowledged commands whose event is not in the store: must be 0. */
  lostAcknowledged: number;
  /** Events in the store that no acknowledged command accounts for (at most `failed`). */
  unacknowledgedEvents: number;
  /** Product rows where the live read model differs from a fresh rebuild. */
  readModelDifferences: string[];
  productsCompared: number;
  /** Processes that died without being killed by us. */
  unplannedExits: string[];
}

/** Mulberry32: a small seeded PRNG, so a failing schedule can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const scenarioStart = Date.now();
/** CRASH_PROGRESS=1 prints where the time goes. */
const progress = (what: string) => {
  if (process.env.CRASH_PROGRESS) process.stderr.write(`[crash +${Date.now() - scenarioStart} ms] ${what}\n`);
};

export async function runCrashScenario(options: { seed: number; faults: Victim[]; workers: number; products: number }): Promise<CrashResult> {
  const random = seededRandom(options.seed);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "eventmall-crash-"));
  const operator = await operatorCredentials();
  const [storePort, commandPort] = [await freePort(), await freePort()];
  const connectionString = `esdb://127.0.0.1:${storePort}?tls=false`;
  // The store starts while the read database is migrated (both take seconds); these are set then.
  let readDb: TestReadDb | undefined;
  let fresh: TestReadDb | undefined;
  let db: ReadDb | undefined;
  let freshDb: ReadDb | undefined;
  const env: Record<Victim, () => Record<string, string>> = {
    eventstore: () => ({ EVENTSTORE_PORT: String(storePort), EVENTSTORE_DATA_FILE: path.join(dir, "eventstore.db"), DATA_DIR: dir }),
    command: () => ({ EVENTSTORE_CONNECTION_STRING: connectionString, COMMAND_PORT: String(commandPort), COMMAND_CONTEXTS: "product", AUTH_TOKEN_SECRET: operator.secret, DATA_DIR: dir }),
    projector: () => ({ EVENTSTORE_CONNECTION_STRING: connectionString, READ_DATABASE_URL: readDb!.url, PROJECTOR_RETRY_BASE_MS: "20", DATA_DIR: dir }),
  };
  const services = new ServiceSet<Victim>(env, (victim) => progress(`${victim} ready`));
  const start = (victim: Victim) => services.start(victim);
  const store = EventStoreDBClient.connectionString(connectionString);
  try {
    await Promise.all([start("eventstore"), createMigratedReadDb("sqlite").then((created) => (readDb = created))]);
    db = await openReadDb(readDb!.url);
    progress("read database migrated");
    await Promise.all([start("command"), start("projector")]);
    const client: Client<typeof ProductCommandService> = createClient(
      ProductCommandService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${commandPort}`, interceptors: [operator.asOperator] }),
    );
    const productIds: string[] = [];
    for (let i = 0; i < options.products; i++) productIds.push((await client.createProduct({ name: `Crash ${i}`, price: 100n, inventory: 1n })).productId);

    // Load: each worker sends increases with quantities no other command uses.
    const acknowledged = new Set<bigint>();
    let commandsSent = 0;
    let failed = 0;
    let loadRunning = true;
    const worker = async (w: number) => {
      for (let k = 0; loadRunning; k++) {
        const quantity = BigInt(w * 1_000_000 + k + 1);
        const productId = productIds[(w + k) % productIds.length]!;
        commandsSent++;
        try {
          await client.increaseInventory({ productId, quantity }, { timeoutMs: 10_000 });
          acknowledged.add(quantity);
        } catch (error) {
          if (!(error instanceof ConnectError) || error.code === Code.InvalidArgument || error.code === Code.PermissionDenied) throw error;
          failed++;
          await sleep(200);
        }
      }
    };
    const workers = Array.from({ length: options.workers }, (_, w) => worker(w));
    progress("load started");
    // The database the rebuild goes into is migrated meanwhile (awaited with the workers).
    const freshReady = createMigratedReadDb("sqlite").then((created) => (fresh = created));

    const faults: CrashResult["faults"] = [];
    const began = Date.now();
    for (const victim of options.faults) {
      await sleep(300 + Math.floor(random() * 1_500));
      await services.kill(victim);
      progress(`${victim} killed`);
      faults.push({ victim, atMs: Date.now() - began });
      await sleep(Math.floor(random() * 500));
      await start(victim);
    }
    await sleep(1_000);
    loadRunning = false;
    await Promise.all([...workers, freshReady]);
    freshDb = await openReadDb(fresh!.url);

    progress("load stopped");
    // Every acknowledged command's event is in the store.
    const recorded = new Map<bigint, number>();
    for (const productId of productIds) {
      for await (const resolved of store.readStream(`product-${productId}`)) {
        const event = resolved.event!;
        if (event.type !== InventoryIncreasedSchema.typeName) continue;
        const quantity = BigInt((event.data as { quantity: string }).quantity);
        recorded.set(quantity, (recorded.get(quantity) ?? 0) + 1);
      }
    }
    const lostAcknowledged = [...acknowledged].filter((q) => !recorded.has(q)).length;
    const unacknowledgedEvents = [...recorded.keys()].filter((q) => !acknowledged.has(q)).length;
    const doubled = [...recorded.values()].filter((count) => count > 1).length;

    // The live read model catches up, then must equal a fresh rebuild from the store.
    await services.ensureRunning();
    const head = await headPosition(store);
    const deadline = Date.now() + 60_000;
    while (((await readCheckpoint(db, productProjection.name))?.commit ?? -1n) < (head?.commit ?? 0n)) {
      // The head may be a non-product event (the checkpoint only moves on product events): stop at the last product event.
      const lastProductEvent = await lastProductPosition(store);
      if (((await readCheckpoint(db, productProjection.name))?.commit ?? -1n) >= lastProductEvent) break;
      if (Date.now() > deadline) throw new Error("the live read model did not catch up within 60 s");
      await sleep(200);
    }
    progress("live read model caught up");
    await catchUp({ client: store, db: freshDb, projection: productProjection, onFailure: "stop" });
    progress("rebuilt");
    const live = new Map((await db.product.findMany()).map((row) => [row.id, row]));
    const rebuilt = await freshDb.product.findMany();
    const readModelDifferences: string[] = [];
    if (doubled > 0) readModelDifferences.push(`${doubled} quantities recorded twice in the store`);
    if (live.size !== rebuilt.length) readModelDifferences.push(`live has ${live.size} rows, rebuild ${rebuilt.length}`);
    for (const row of rebuilt) {
      const other = live.get(row.id);
      if (!other || other.inventory !== row.inventory || other.revision !== row.revision || other.name !== row.name) {
        readModelDifferences.push(`${row.id}: live ${other?.inventory}@${other?.revision}, rebuild ${row.inventory}@${row.revision}`);
      }
    }
    return {
      commandsSent,
      acknowledged: acknowledged.size,
      failed,
      faults,
      lostAcknowledged,
      unacknowledgedEvents,
      readModelDifferences,
      productsCompared: rebuilt.length,
      unplannedExits: services.unplannedExits,
    };
  } finally {
    await services.stopAll();
    progress("processes stopped");
    await Promise.race([store.dispose(), sleep(5_000)]);
    await db?.$disconnect();
    await freshDb?.$disconnect();
    await readDb?.drop();
    await fresh?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function lastProductPosition(store: EventStoreDBClient): Promise<bigint> {
  for await (const resolved of store.readAll({ direction: "backwards", fromPosition: "end", maxCount: 500 })) {
    if (resolved.event?.streamId.startsWith("product-")) return resolved.event.position?.commit ?? 0n;
  }
  return 0n;
}
