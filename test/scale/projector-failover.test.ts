// Two projector processes on the same subscription groups, over the embedded store and a
// PostgreSQL read database: every event's effect lands exactly once, and when the one doing the
// work is killed with SIGKILL the other takes over with nothing lost.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryIncreasedSchema, ProductCreatedSchema } from "../../gen/eventmall/product/v1/events_pb";
import { EventCodec } from "../../src/kernel/write/event-codec";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { startService, type ServiceProcess } from "../support/processes";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";

const PRODUCTS = 4;
const INCREASES_PER_PRODUCT = 16;
const codec = new EventCodec([ProductCreatedSchema, InventoryIncreasedSchema]);
const metadata = { correlationId: "scale-test", causationId: "scale-test" };

let store: StoreUnderTest;
let readDb: TestReadDb;
let db: ReadDb;
const projectors: ServiceProcess[] = [];

beforeAll(async () => {
  store = await openStore();
  readDb = await createMigratedReadDb("postgresql");
  db = await openReadDb(readDb.url, { poolSize: 2 });
}, 120_000);

afterAll(async () => {
  await Promise.all(projectors.map((projector) => projector.stop()));
  await db?.$disconnect();
  await store?.close();
  await readDb?.drop();
});

function startProjector(): ServiceProcess {
  const projector = startService("projector", {
    EVENTSTORE_CONNECTION_STRING: store.connectionString,
    READ_DATABASE_URL: readDb.url,
    PROJECTOR_RETRY_BASE_MS: "20",
    LOG_LEVEL: "debug",
  });
  projectors.push(projector);
  return projector;
}

const handled = (projector: ServiceProcess) => projector.records().filter((r) => r.msg === "event handled" && r.projection === "product");

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("two projector processes on one group", () => {
  it("apply every event exactly once, and the survivor of a SIGKILL takes over with nothing lost", async () => {
    const first = startProjector();
    const second = startProjector();
    await Promise.all([first.waitFor(/"msg":"projector started"/), second.waitFor(/"msg":"projector started"/)]);

    // Each product gets distinct increases: a lost or doubled event shows in the exact total.
    const products = Array.from({ length: PRODUCTS }, () => ({ id: randomUUID(), expected: 0n }));
    const increases = (product: (typeof products)[number], from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) => {
        const quantity = BigInt(from + k + 1);
        product.expected += quantity;
        return codec.encode(InventoryIncreasedSchema, create(InventoryIncreasedSchema, { productId: product.id, quantity, changedAt: timestampFromDate(new Date()) }), metadata);
      });
    const half = INCREASES_PER_PRODUCT / 2;
    for (const product of products) {
      const created = create(ProductCreatedSchema, { productId: product.id, name: `P ${product.id}`, price: 100n, inventory: 0n, createdAt: timestampFromDate(new Date()) });
      await store.client.appendToStream(`product-${product.id}`, [codec.encode(ProductCreatedSchema, created, metadata), ...increases(product, 0, half)]);
    }

    // Kill whichever process is doing the work, mid-stream.
    await until(() => handled(first).length + handled(second).length >= 8, "the first events to be handled");
    const victim = handled(first).length >= handled(second).length ? first : second;
    const survivor = victim === first ? second : first;
    victim.child.kill("SIGKILL");
    expect(await victim.exited).toBe("SIGKILL");
    const appliedBeforeKill = (await db.product.findMany()).length;
    expect(appliedBeforeKill).toBeLessThanOrEqual(PRODUCTS);

    for (const product of products) {
      await store.client.appendToStream(`product-${product.id}`, increases(product, half, INCREASES_PER_PRODUCT));
    }
    const lastRevision = BigInt(INCREASES_PER_PRODUCT);
    await until(async () => {
      const rows = await db.product.findMany();
      return rows.length === PRODUCTS && rows.every((row) => row.revision === lastRevision);
    }, "every event to reach the read model after the kill");

    const rows = new Map((await db.product.findMany()).map((row) => [row.id, row]));
    for (const product of products) expect(rows.get(product.id)?.inventory, product.id).toBe(product.expected);
    // The survivor did the work after the kill.
    expect(handled(survivor).some((r) => r.revision === Number(lastRevision) || r.revision === String(lastRevision))).toBe(true);

    // A graceful restart of the killed one changes nothing: everything was acknowledged or is skipped.
    const restarted = startProjector();
    await restarted.waitFor(/"msg":"projector started"/);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const again = new Map((await db.product.findMany()).map((row) => [row.id, row]));
    for (const product of products) expect(again.get(product.id)?.inventory).toBe(product.expected);
  }, 180_000);
});
