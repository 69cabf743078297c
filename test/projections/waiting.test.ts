// A projection whose read database goes away waits, and says so where an operator can see it while
// that database is down: its health entry turns NOT_SERVING and the projection_waiting gauge 1.
// When the database is back it goes on from where it was: nothing parked, nothing lost.
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthRegistry, projectionHealthName, projectionHealthObserver, ServingStatus } from "../../src/kernel/grpc/health";
import { createMetricsRegistry, observeAll, projectionMetrics } from "../../src/kernel/process/metrics";
import { groupName, startProjector, type RunningProjector } from "../../src/kernel/read/projector";
import { migrateReadDb, openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { productProjection } from "../../src/product/projection";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { startPrivatePostgres, type PrivatePostgres } from "../support/private-postgres";
import { eventually, productCreated } from "./support";

let postgres: PrivatePostgres;
let store: StoreUnderTest;
let db: ReadDb;
let projector: RunningProjector | undefined;

beforeAll(async () => {
  [postgres, store] = await Promise.all([startPrivatePostgres(), openStore()]);
  await migrateReadDb(postgres.url);
  db = await openReadDb(postgres.url);
}, 120_000);

afterAll(async () => {
  await projector?.stop();
  await db?.$disconnect();
  await store?.close();
  await postgres?.destroy();
});

describe("a projection whose read database is down", () => {
  it("reports waiting in its health and metrics, then goes on with nothing parked", async () => {
    const health = new HealthRegistry([]);
    const registry = createMetricsRegistry("projector");
    const observer = observeAll(projectionHealthObserver(health, [productProjection.name]), projectionMetrics({ registry, db, client: store.client, projections: [productProjection] }));
    projector = startProjector({ client: store.client, db, projections: [productProjection], logger: pino({ level: "silent" }), maxRetries: 1, retryBaseMs: 20, observer });
    const waitingGauge = async () => (await registry.getSingleMetric("projection_waiting")!.get()).values.find((v) => v.labels.projection === productProjection.name)?.value;

    const first = randomUUID();
    await store.client.appendToStream(`product-${first}`, [productCreated(first, 5n)]);
    await eventually(async () => ((await db.product.findUnique({ where: { id: first } })) !== null) || undefined, "the first product");
    expect(health.get(projectionHealthName(productProjection.name))).toBe(ServingStatus.SERVING);
    expect(await waitingGauge()).toBe(0);

    await postgres.stop();
    const during = randomUUID();
    await store.client.appendToStream(`product-${during}`, [productCreated(during, 7n)]);
    await eventually(async () => (health.get(projectionHealthName(productProjection.name)) === ServingStatus.NOT_SERVING) || undefined, "health NOT_SERVING while waiting");
    expect(await waitingGauge()).toBe(1);
    expect(health.get("")).toBe(ServingStatus.SERVING);

    await postgres.start();
    await eventually(async () => ((await db.product.findUnique({ where: { id: during } }).catch(() => null))?.inventory === 7n) || undefined, "the product written during the outage", 60_000);
    await eventually(async () => (health.get(projectionHealthName(productProjection.name)) === ServingStatus.SERVING) || undefined, "health SERVING again");
    expect(await waitingGauge()).toBe(0);
    const info = await store.client.getPersistentSubscriptionToAllInfo(groupName(productProjection));
    expect(info.stats.parkedMessageCount).toBe(0n);
  }, 120_000);
});
