// Every read model the projector keeps can be rebuilt and verified: after a shop scenario (products,
// members, orders confirmed and rejected), `projections verify` finds the live models equal to a
// build from the events, every projection `projections list` shows rebuilds, verify still finds
// nothing after the rebuilds, and damage to a live model is reported (exit code 1) with the rows.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projections } from "../../services/projector/projections";
import { catchUp } from "../../src/kernel/read/catch-up";
import { rebuildProjection } from "../../src/kernel/read/rebuild";
import { verifyProjection } from "../../src/kernel/read/verify";
import { OrderStatus } from "../../gen/eventmall/order/v1/queries_pb";
import { createProduct, eventually, openShop, registerMember, type Shop } from "../order/shop";

const repoRoot = path.resolve(import.meta.dirname, "../..");
let shop: Shop;

beforeAll(async () => {
  shop = await openShop("sqlite");
}, 120_000);

afterAll(async () => {
  await shop?.close();
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(path.join(repoRoot, "node_modules", ".bin", "tsx"), ["scripts/projections.ts", ...args], {
      cwd: repoRoot,
      env: { ...process.env, READ_DATABASE_URL: shop.readDbUrl, EVENTSTORE_CONNECTION_STRING: shop.store.connectionString },
    });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "" };
  }
}

describe("projections verify and rebuild", () => {
  it("find every live read model equal to the events, rebuild each one, and report damage row by row", async () => {
    const keyboard = await createProduct(shop, "Keyboard", 45_000n, 5n);
    const mouse = await createProduct(shop, "Mouse", 15_000n, 2n);
    await shop.productCommands.increaseInventory({ productId: mouse, quantity: 3n });
    const alice = await registerMember(shop, "alice_01");
    const orders = shop.orderCommandsAs(alice.token);
    const confirmed = await orders.placeOrder({ items: [{ productId: keyboard, quantity: 2n }, { productId: mouse, quantity: 1n }], delivery: { address: "Seoul", phone: "010-0000-0000" } });
    const statusOf = async (orderId: string) => (await shop.orderQueriesAs(alice.token).getOrder({ orderId })).order?.status;
    await eventually(async () => ((await statusOf(confirmed.orderId)) === OrderStatus.CONFIRMED ? true : undefined), "the first order to be confirmed");
    // A rejected order: PlaceOrder refuses at once what the catalog shows as out of stock, so the
    // stock goes while the projector is stopped and the catalog still shows the 4 mice left.
    await eventually(async () => ((await shop.db.orderCatalogProduct.findUnique({ where: { id: mouse } }))?.inventory === 4n ? true : undefined), "the catalog to show 4 mice");
    await shop.pauseProjector();
    await shop.productCommands.decreaseInventory({ productId: mouse, quantity: 4n });
    const rejected = await orders.placeOrder({ items: [{ productId: mouse, quantity: 4n }], delivery: { address: "Seoul", phone: "010-0000-0000" } });
    shop.resumeProjector();
    const outcome = await shop.orderQueriesAs(alice.token).getOrder({ orderId: rejected.orderId, positionToken: rejected.result!.positionToken, waitForOutcome: true });
    expect(outcome.order?.status, "the second order is rejected").toBe(OrderStatus.REJECTED);
    // The shop's projector runs the models its tests read; the others are brought up to date here.
    for (const projection of projections) await catchUp({ client: shop.store.client, db: shop.db, projection, onFailure: "stop" });

    expect(projections.map((p) => p.name)).toEqual(expect.arrayContaining(["product", "member", "order", "order-catalog", "inventory-movements"]));
    for (const projection of projections) {
      expect(projection.tables?.length, `${projection.name} declares its tables`).toBeGreaterThan(0);
      const verified = await verifyProjection({ client: shop.store.client, liveUrl: shop.readDbUrl, projection });
      expect(verified.differences, `${projection.name} before any rebuild`).toEqual([]);
      expect(Object.values(verified.rows).reduce((a, b) => a + b, 0), `${projection.name} has rows`).toBeGreaterThan(0);
    }

    const listed = await cli("list");
    for (const projection of projections) expect(listed.stdout).toContain(`${projection.name}\t`);
    for (const projection of projections) {
      const rebuilt = await cli("rebuild", projection.name);
      expect(rebuilt.stdout, `${projection.name} rebuilt from $all`).toMatch(new RegExp(`^rebuilt ${projection.name}: [1-9]\\d* events read`, "m"));
      expect(rebuilt.code).toBe(0);
    }
    const afterRebuild = await cli("verify", "--all");
    expect(afterRebuild.stdout).not.toContain("DIFFERS");
    expect(afterRebuild.code).toBe(0);
    for (const projection of projections) expect(afterRebuild.stdout).toContain(`verified ${projection.name} at position`);

    // Damage: a wrong inventory, a lost order line. verify names both and fails.
    await shop.db.product.update({ where: { id: keyboard }, data: { inventory: { increment: 1 } } });
    await shop.db.orderLine.deleteMany({ where: { orderId: confirmed.orderId, productId: mouse } });
    const damaged = await cli("verify", "--all");
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toMatch(/^product at position \d+ DIFFERS/m);
    expect(damaged.stdout).toMatch(/product: 1 rows only in the live model \(wrong or extra\), 1 rows only in the rebuilt one/);
    expect(damaged.stdout).toContain(keyboard);
    expect(damaged.stdout).toMatch(/order_line: 0 rows only in the live model \(wrong or extra\), 1 rows only in the rebuilt one/);
    expect(damaged.stdout).toMatch(/^verified member at position/m);

    // The repair the report suggests puts it right.
    await rebuildProjection({ client: shop.store.client, liveUrl: shop.readDbUrl, projection: projections.find((p) => p.name === "product")! });
    expect((await verifyProjection({ client: shop.store.client, liveUrl: shop.readDbUrl, projection: projections.find((p) => p.name === "product")! })).differences).toEqual([]);
  }, 300_000);
});
