// A poison event: the product projection (as shipped with a bug) cannot apply one event. The
// projector retries it, parks it, and keeps applying the events after it. The fix is a new
// version of the projection's code (the projector restarts with it); an operator then replays
// the parked event through ProjectionAdminService, and it is applied exactly once — a second
// replay changes nothing.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectionAdminService, ReplayOutcome } from "../../gen/eventmall/admin/v1/admin_pb";
import { InventoryIncreasedSchema, ProductCreatedSchema } from "../../gen/eventmall/product/v1/events_pb";
import { startQueryServer } from "../../services/query/server";
import { createTokenService } from "../../src/kernel/auth/auth";
import { EventCodec } from "../../src/kernel/write/event-codec";
import { groupName, startProjector, type Projection, type RunningProjector } from "../../src/kernel/read/projector";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { productProjection } from "../../src/product/projection";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { operatorCredentials } from "../support/operator";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";
import { recordFigures } from "./figures";

const MAX_RETRIES = 2;
const POISON_QUANTITY = 7n;
const codec = new EventCodec([ProductCreatedSchema, InventoryIncreasedSchema]);
const metadata = { correlationId: "poison-test", causationId: "poison-test" };
const silent = pino({ level: "silent" });

let store: StoreUnderTest;
let readDb: TestReadDb;
let db: ReadDb;
let projector: RunningProjector | undefined;
let closeQueryServer: () => Promise<void>;
let admin: ReturnType<typeof createClient<typeof ProjectionAdminService>>;

// Version 1 of the projection code: it chokes on an increase of exactly 7 units (a stand-in for
// any bug that makes apply() throw on one valid event). The data is fine; the code is not.
let failedAttempts = 0;
const buggyProductProjection: Projection = {
  name: productProjection.name,
  filter: productProjection.filter,
  tables: productProjection.tables,
  async apply(tx, event) {
    const data = event.data as { quantity?: string };
    if (event.type === InventoryIncreasedSchema.typeName && data.quantity === String(POISON_QUANTITY)) {
      failedAttempts++;
      throw new Error("projection v1 cannot apply an increase of 7");
    }
    await productProjection.apply(tx, event);
  },
};

function run(projection: Projection): RunningProjector {
  return startProjector({ client: store.client, db, projections: [projection], logger: process.env.POISON_DEBUG ? pino({ level: "debug" }) : silent, maxRetries: MAX_RETRIES, retryBaseMs: 5 });
}

beforeAll(async () => {
  store = await openStore();
  readDb = await createMigratedReadDb("sqlite");
  db = await openReadDb(readDb.url);
  const operator = await operatorCredentials();
  const tokens = createTokenService({ dataDir: "/nonexistent", auth: { tokenSecret: operator.secret, tokenTtlSeconds: 3600 } });
  const server = await startQueryServer({ db, tokens, port: 0, logger: silent, eventStore: store.client, contexts: ["product"] });
  closeQueryServer = () => server.close();
  admin = createClient(ProjectionAdminService, createGrpcTransport({ baseUrl: server.url, interceptors: [operator.asOperator] }));
}, 60_000);

afterAll(async () => {
  const step = (what: string) => process.env.POISON_DEBUG && process.stderr.write(`${new Date().toISOString()} closing: ${what}\n`);
  step("projector");
  await projector?.stop();
  step("query server");
  await closeQueryServer?.();
  step("db");
  await db?.$disconnect();
  step("store");
  // Known issue: the client's dispose() can hang for a minute after a parked-message replay
  // through it; the test only bounds its own cleanup.
  await Promise.race([store?.close(), new Promise((resolve) => setTimeout(resolve, 5_000))]);
  step("read db");
  await readDb?.drop();
});

async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const created = (productId: string, inventory: bigint) =>
  codec.encode(ProductCreatedSchema, create(ProductCreatedSchema, { productId, name: `P ${productId}`, price: 100n, inventory, createdAt: timestampFromDate(new Date()) }), metadata);
const increased = (productId: string, quantity: bigint) =>
  codec.encode(InventoryIncreasedSchema, create(InventoryIncreasedSchema, { productId, quantity, changedAt: timestampFromDate(new Date()) }), metadata);
const inventoryOf = async (id: string) => (await db.product.findUnique({ where: { id } }))?.inventory;
const parkedNow = async () => (await store.client.getPersistentSubscriptionToAllInfo(groupName(productProjection))).stats.parkedMessageCount;

describe("a poison event", () => {
  it("is retried, parked while the projection keeps going, and applied exactly once when replayed after the fix", async () => {
    projector = run(buggyProductProjection);
    const victim = randomUUID();
    const later = randomUUID();
    await store.client.appendToStream(`product-${victim}`, [created(victim, 10n), increased(victim, POISON_QUANTITY), increased(victim, 100n)]);
    await store.client.appendToStream(`product-${later}`, [created(later, 5n)]);

    // The projection keeps going past it: the later increase and the later product are applied.
    await eventually(async () => (await inventoryOf(later)) === 5n && (await inventoryOf(victim)) === 110n, "the events after the poison event");
    await eventually(async () => (await parkedNow()) === 1n, "the poison event to be parked");
    expect(failedAttempts).toBe(MAX_RETRIES + 1);
    const [parked] = (await admin.listParkedEvents({ projection: productProjection.name })).events;
    expect(parked).toMatchObject({ streamId: `product-${victim}`, streamRevision: 1n, eventType: InventoryIncreasedSchema.typeName });
    expect(parked!.lastError).toContain("cannot apply an increase of 7");

    // Deploy the fix: the projector restarts with the corrected code. Nothing replays by itself.
    await projector.stop();
    projector = run(productProjection);
    const again = randomUUID();
    await store.client.appendToStream(`product-${again}`, [created(again, 1n)]);
    await eventually(async () => (await inventoryOf(again)) === 1n, "an event after the restart");
    expect(await inventoryOf(victim)).toBe(110n);

    // The operator replays the parked event: applied once.
    const replay = await admin.replayParkedEvents({ projection: productProjection.name });
    expect(replay).toMatchObject({ replayedCount: 1n, appliedCount: 1n, skippedCount: 0n, pendingCount: 0n });
    expect(replay.events).toMatchObject([{ streamId: `product-${victim}`, streamRevision: 1n, outcome: ReplayOutcome.APPLIED }]);
    await eventually(async () => (await inventoryOf(victim)) === 117n, "the replayed event to be applied");
    await eventually(async () => (await parkedNow()) === 0n, "the parked stream to be empty");
    expect(await db.projectionRetry.count({ where: { projection: productProjection.name } })).toBe(0);

    // A second replay finds nothing; a marker event proves the projection has moved past any redelivery.
    expect((await admin.replayParkedEvents({ projection: productProjection.name })).replayedCount).toBe(0n);
    const marker = randomUUID();
    await store.client.appendToStream(`product-${marker}`, [created(marker, 3n)]);
    await eventually(async () => (await inventoryOf(marker)) === 3n, "the marker event");
    expect(await inventoryOf(victim)).toBe(117n);
    expect((await db.product.findUniqueOrThrow({ where: { id: victim } })).revision).toBe(2n);
    recordFigures("poison event (light)", { poisonEvents: 1, deliveriesBeforeParking: failedAttempts, replayed: 1, appliedTimes: 1 });
  }, 60_000);
});
