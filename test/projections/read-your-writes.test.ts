// Read-your-writes through real servers: a command's position_token makes the next query wait
// until the read model has the write; a write the read model filters out does not make it wait;
// a token beyond the end of $all answers UNAVAILABLE after the bounded wait.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { ProductQueryService } from "../../gen/eventmall/product/v1/queries_pb";
import { ReportQueryService } from "../../gen/eventmall/report/v1/queries_pb";
import { startProjector, type RunningProjector } from "../../src/kernel/read/projector";
import { encodePositionToken } from "../../src/kernel/read/read-your-writes";
import { productProjection } from "../../src/product/projection";
import { inventoryMovementsProjection } from "../../src/report/inventory-movements";
import { startCommandServer, type RunningCommandServer } from "../../services/command/server";
import { startQueryServer } from "../../services/query/server";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { adminToken, bearer, testTokenService } from "../kernel/auth-fixtures";
import { inventoryChanged, silent, tempReadDb, type TempReadDb } from "./support";

const tokens = testTokenService();
let store: StoreUnderTest;
let readDb: TempReadDb;
let projector: RunningProjector;
let commandServer: RunningCommandServer;
let queryServer: Awaited<ReturnType<typeof startQueryServer>>;
let shortWaitServer: Awaited<ReturnType<typeof startQueryServer>>;
let commands: Client<typeof ProductCommandService>;
let products: Client<typeof ProductQueryService>;
let reports: Client<typeof ReportQueryService>;
let productsShortWait: Client<typeof ProductQueryService>;

const SHORT_WAIT_MS = 300;

beforeAll(async () => {
  store = await openStore();
  readDb = await tempReadDb();
  projector = startProjector({ client: store.client, db: readDb.db, projections: [productProjection, inventoryMovementsProjection], logger: silent, maxRetries: 2, retryBaseMs: 10 });
  commandServer = await startCommandServer({ tokens, eventStore: store.client, host: "127.0.0.1", port: 0, snapshotEvery: 100, maxConflictRetries: 5, logger: silent, contexts: ["product"] });
  // Generous wait: the machine may be busy; the wait ends as soon as the model has the write.
  queryServer = await startQueryServer({ db: readDb.db, tokens, eventStore: store.client, host: "127.0.0.1", port: 0, logger: silent, readYourWritesTimeoutMs: 30_000 });
  shortWaitServer = await startQueryServer({ db: readDb.db, tokens, eventStore: store.client, host: "127.0.0.1", port: 0, logger: silent, readYourWritesTimeoutMs: SHORT_WAIT_MS });
  const admin = await adminToken(tokens);
  commands = createClient(ProductCommandService, createGrpcTransport({ baseUrl: commandServer.url, interceptors: [bearer(admin)] }));
  products = createClient(ProductQueryService, createGrpcTransport({ baseUrl: queryServer.url }));
  reports = createClient(ReportQueryService, createGrpcTransport({ baseUrl: queryServer.url, interceptors: [bearer(admin)] }));
  productsShortWait = createClient(ProductQueryService, createGrpcTransport({ baseUrl: shortWaitServer.url }));
}, 120_000);

afterAll(async () => {
  await shortWaitServer?.close();
  await queryServer?.close();
  await commandServer?.close();
  await projector?.stop();
  await readDb?.close();
  await store?.close();
});

describe("read-your-writes", () => {
  it("a query carrying the command's token sees the write it follows", async () => {
    for (let i = 0; i < 5; i++) {
      const created = await commands.createProduct({ name: `ryw ${i}`, price: 100n + BigInt(i), inventory: 3n, imagePath: "", description: "" });
      const { product } = await products.getProduct({ productId: created.productId, positionToken: created.result!.positionToken });
      expect(product?.name).toBe(`ryw ${i}`);

      const changed = await commands.changeProductPrice({ productId: created.productId, price: 999n });
      const after = await products.getProduct({ productId: created.productId, positionToken: changed.result!.positionToken });
      expect(after.product?.price).toBe(999n);

      const listed = await products.listProducts({ pageSize: 100, positionToken: changed.result!.positionToken });
      expect(listed.products.find((p) => p.productId === created.productId)?.price).toBe(999n);

      const increased = await commands.increaseInventory({ productId: created.productId, quantity: 7n });
      const { days } = await reports.getInventoryMovements({ productId: created.productId, positionToken: increased.result!.positionToken });
      expect(days.reduce((sum, d) => sum + d.increased, 0n)).toBe(10n);
      expect(days.reduce((sum, d) => sum + d.movements, 0)).toBe(2);
    }
  }, 120_000);

  it("does not wait for a write the read model filters out", async () => {
    const created = await commands.createProduct({ name: "settled", price: 1n, inventory: 1n, imagePath: "", description: "" });
    await products.getProduct({ productId: created.productId, positionToken: created.result!.positionToken });
    const unrelated = await store.client.appendToStream(`unrelated-${created.productId}`, [inventoryChanged(created.productId, 1n, 0)]);
    // The product checkpoint never reaches this position; the scan of $all shows nothing to wait for.
    const { product } = await productsShortWait.getProduct({ productId: created.productId, positionToken: encodePositionToken(unrelated.position!.commit) });
    expect(product?.name).toBe("settled");
  }, 60_000);

  it("answers UNAVAILABLE after the bounded wait for a token beyond the end of $all", async () => {
    const created = await commands.createProduct({ name: "future", price: 1n, inventory: 1n, imagePath: "", description: "" });
    const future = encodePositionToken(created.result!.commitPosition + 1_000_000n);
    const error = await productsShortWait.getProduct({ productId: created.productId, positionToken: future }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.Unavailable);
    expect(error?.rawMessage).toMatch(/product read model has not caught up .* within 300 ms/);
    const bad = await products.getProduct({ productId: created.productId, positionToken: "%%%" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(bad?.code).toBe(Code.InvalidArgument);
  }, 60_000);
});
