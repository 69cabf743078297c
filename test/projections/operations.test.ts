// Projection operations: status (position, lag, parked, state), the admin service's parked
// event list / inspect / replay behind the admin role, and the Prometheus metrics endpoint.
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectionAdminService, ProjectionState } from "../../gen/eventmall/admin/v1/admin_pb";
import { InventoryIncreasedSchema } from "../../gen/eventmall/product/v1/events_pb";
import { createMetricsRegistry, observeAll, projectionMetrics, startMetricsServer, type MetricsServer } from "../../src/kernel/process/metrics";
import { parkedCount, ProjectionStatusRecorder, readProjectionStatus } from "../../src/kernel/read/projection-status";
import { startProjector, type RunningProjector } from "../../src/kernel/read/projector";
import { productProjection } from "../../src/product/projection";
import { startQueryServer } from "../../services/query/server";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { adminToken, bearer, testTokenService } from "../kernel/auth-fixtures";
import { eventually, inventoryChanged, productCreated, silent, tempReadDb, type TempReadDb } from "./support";

const tokens = testTokenService();
let store: StoreUnderTest;
let readDb: TempReadDb;
let projector: RunningProjector;
let recorder: ProjectionStatusRecorder;
let metrics: MetricsServer;
let queryServer: Awaited<ReturnType<typeof startQueryServer>>;
let admin: Client<typeof ProjectionAdminService>;
let anonymous: Client<typeof ProjectionAdminService>;
let member: Client<typeof ProjectionAdminService>;
const poisoned = randomUUID();

beforeAll(async () => {
  store = await openStore();
  readDb = await tempReadDb();
  const registry = createMetricsRegistry("projector");
  metrics = await startMetricsServer({ registry, port: 0 });
  recorder = new ProjectionStatusRecorder(readDb.db, silent);
  projector = startProjector({
    client: store.client,
    db: readDb.db,
    projections: [productProjection],
    logger: silent,
    maxRetries: 1,
    retryBaseMs: 10,
    observer: observeAll(recorder, projectionMetrics({ registry, db: readDb.db, client: store.client, projections: [productProjection] })),
  });
  queryServer = await startQueryServer({ db: readDb.db, tokens, eventStore: store.client, host: "127.0.0.1", port: 0, logger: silent });
  const transport = (token?: string) => createGrpcTransport({ baseUrl: queryServer.url, interceptors: token ? [bearer(token)] : [] });
  admin = createClient(ProjectionAdminService, transport(await adminToken(tokens)));
  anonymous = createClient(ProjectionAdminService, transport());
  member = createClient(ProjectionAdminService, transport((await tokens.issue({ subject: "m", roles: ["member"] })).token));
}, 120_000);

afterAll(async () => {
  await queryServer?.close();
  await projector?.stop();
  await recorder?.close();
  await metrics?.close();
  await readDb?.close();
  // Known embedded-store issue (reported): after ReplayParked its stop() does not return.
  await Promise.race([store?.close(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
}, 60_000);

async function inventoryOf(productId: string) {
  return (await readDb.db.product.findUnique({ where: { id: productId } }))?.inventory;
}

describe("projection operations", () => {
  it("parks a failing event, reports it, lets an admin inspect and replay it, and counts it in metrics", async () => {
    // An inventory change for a product the read model does not know yet: retried, then parked.
    await store.client.appendToStream(`product-${poisoned}`, [inventoryChanged(poisoned, 5n, 0)]);
    const healthy = randomUUID();
    const after = await store.client.appendToStream(`product-${healthy}`, [productCreated(healthy, 4n)]);
    await eventually(async () => ((await parkedCount(store.client, productProjection)) === 1n ? true : undefined), "the poison event to be parked");
    await eventually(async () => ((await inventoryOf(healthy)) === 4n ? true : undefined), "the event after it to be applied");
    await recorder.flush();

    const { projections } = await admin.getProjectionStatus({});
    // The query process reports every projection the projector process runs.
    expect(projections.map((p) => p.name)).toContain("inventory-movements");
    expect(projections.find((p) => p.name === "product")).toMatchObject({ name: "product", state: ProjectionState.LIVE, parkedCount: 1n, lagEvents: 0n, lagMs: 0n, checkpointPosition: after.position!.commit });

    const { events } = await admin.listParkedEvents({ projection: "product" });
    expect(events).toHaveLength(1);
    const parked = events[0]!;
    expect(parked).toMatchObject({ streamId: `product-${poisoned}`, streamRevision: 0n, eventType: InventoryIncreasedSchema.typeName });
    expect(parked.lastError).toMatch(/not in the read model yet/);
    const inspected = await admin.getParkedEvent({ projection: "product", parkedRevision: parked.parkedRevision });
    expect(inspected.event?.eventId).toBe(parked.eventId);
    expect(JSON.parse(Buffer.from(inspected.data).toString("utf8"))).toMatchObject({ productId: poisoned, quantity: "5" });
    expect(inspected.contentType).toBe("application/json");

    // Fix the cause (the product now exists), then replay: the parked change is applied once.
    await store.client.appendToStream(`product-${poisoned}`, [productCreated(poisoned, 10n)]);
    await eventually(async () => ((await inventoryOf(poisoned)) === 10n ? true : undefined), "the product to be created");
    expect((await admin.replayParkedEvents({ projection: "product" })).replayedCount).toBe(1n);
    await eventually(async () => ((await inventoryOf(poisoned)) === 15n ? true : undefined), "the replayed change to be applied");
    await eventually(async () => ((await parkedCount(store.client, productProjection)) === 0n ? true : undefined), "the parked count to drop");
    expect((await admin.listParkedEvents({ projection: "product" })).events).toEqual([]);

    const text = await (await fetch(metrics.url)).text();
    const value = (metric: string) => Number(new RegExp(`^${metric}\\{[^}]*projection="product"[^}]*\\} (\\S+)$`, "m").exec(text)?.[1]);
    // Applied: the healthy product, the poisoned product's creation, the replayed change.
    expect(value("projection_events_processed_total")).toBe(3);
    expect(value("projection_retries_total")).toBeGreaterThanOrEqual(1);
    expect(value("projection_parked_total")).toBe(1);
    expect(value("projection_lag_events")).toBe(0);
    expect(value("projection_lag_milliseconds")).toBe(0);
    expect(text).toMatch(/^process_cpu_user_seconds_total\{process="projector"\} /m);
  }, 120_000);

  it("refuses callers without the admin role and names unknown projections and revisions", async () => {
    const code = (call: Promise<unknown>) => call.then(() => "ok", (e: unknown) => ConnectError.from(e).code);
    expect(await code(anonymous.getProjectionStatus({}))).toBe(Code.Unauthenticated);
    expect(await code(member.listParkedEvents({ projection: "product" }))).toBe(Code.PermissionDenied);
    expect(await code(admin.listParkedEvents({ projection: "nope" }))).toBe(Code.NotFound);
    expect(await code(admin.listParkedEvents({ projection: "product", pageSize: 501 }))).toBe(Code.InvalidArgument);
    expect(await code(admin.getParkedEvent({ projection: "product", parkedRevision: 99n }))).toBe(Code.NotFound);
    expect(await code(admin.replayParkedEvents({ projection: "" }))).toBe(Code.InvalidArgument);
  });

  it("reports a stopped projector with the lag it left behind", async () => {
    await projector.stop();
    await recorder.flush();
    const written = [];
    for (let i = 0; i < 3; i++) written.push(await store.client.appendToStream(`product-${poisoned}`, [inventoryChanged(poisoned, 1n, 0)]));
    const [status] = await readProjectionStatus({ db: readDb.db, client: store.client, projections: [productProjection] });
    expect(status).toMatchObject({ name: "product", state: "stopped", lagEvents: 3, lagCapped: false, parkedCount: 0n });
    expect(status!.lagMs).toBeGreaterThanOrEqual(0);
    const capped = await readProjectionStatus({ db: readDb.db, client: store.client, projections: [productProjection], lagCountLimit: 2 });
    expect(capped[0]).toMatchObject({ lagEvents: 2, lagCapped: true });
  });
});
