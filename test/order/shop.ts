// The whole shop in-process for order tests: the embedded store, a fresh migrated read db (SQLite
// or PostgreSQL), the product command and query services each on a server of their own (so a test can stop
// them), the member and order services on another pair, and the projector (projections and the
// stock reservation process) as the projector process runs them. Real gRPC clients throughout.
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { MemberCommandService } from "../../gen/eventmall/member/v1/commands_pb";
import { OrderCommandService } from "../../gen/eventmall/order/v1/commands_pb";
import { OrderQueryService } from "../../gen/eventmall/order/v1/queries_pb";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { ProductQueryService } from "../../gen/eventmall/product/v1/queries_pb";
import { startCommandServer, type RunningCommandServer } from "../../services/command/server";
import { reactors } from "../../services/projector/projections";
import { startQueryServer } from "../../services/query/server";
import { ADMIN_ROLE, createTokenService, type TokenService } from "../../src/kernel/auth/auth";
import { startProjector, type RunningProjector } from "../../src/kernel/read/projector";
import { openReadDb, type ReadDb, type ReadDbProvider } from "../../src/kernel/read/read-db";
import { AggregateRepository } from "../../src/kernel/write/repository";
import type { ProductRepository } from "../../src/order/stock-reservation";
import { orderProjection } from "../../src/order/projection";
import { orderCatalogProjection } from "../../src/order/projection-catalog";
import { productAggregate } from "../../src/product/decider";
import { productProjection } from "../../src/product/projection";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";

const silent = pino({ level: "silent" });
const TEST_PASSWORD_COST = { log2N: 12, r: 8, p: 1 };

export interface Shop {
  store: StoreUnderTest;
  db: ReadDb;
  /** The read database's URL (for operator commands run against it). */
  readDbUrl: string;
  tokens: TokenService;
  /** Admin-authenticated product clients (on the product-only servers). */
  productCommands: Client<typeof ProductCommandService>;
  productQueries: Client<typeof ProductQueryService>;
  /** The product aggregate as the command side sees it. */
  products: ProductRepository;
  /** Unauthenticated clients of the member/order servers; pass headers or use member(). */
  members: Client<typeof MemberCommandService>;
  orderCommandsAs(token?: string): Client<typeof OrderCommandService>;
  orderQueriesAs(token?: string): Client<typeof OrderQueryService>;
  adminToken: string;
  /** Where the product-only servers listen (or listened, once stopped). */
  productUrls: { commands: string; queries: string };
  stopProductServers(): Promise<void>;
  /** Stops the projector (read models and the stock reservation process freeze) until resumeProjector(). */
  pauseProjector(): Promise<void>;
  resumeProjector(): void;
  close(): Promise<void>;
}

function bearer(token: string | undefined): Interceptor[] {
  if (token === undefined) return [];
  return [
    (next) => (request) => {
      request.header.set("authorization", `Bearer ${token}`);
      return next(request);
    },
  ];
}

export async function openShop(provider: ReadDbProvider = "sqlite"): Promise<Shop> {
  const store = await openStore();
  const readDb: TestReadDb = await createMigratedReadDb(provider);
  const db = await openReadDb(readDb.url);
  const tokens = createTokenService({ dataDir: tmpdir(), auth: { tokenSecret: randomBytes(32).toString("base64url"), tokenTtlSeconds: 3600 } });
  const adminToken = (await tokens.issue({ subject: "test-operator", roles: [ADMIN_ROLE] })).token;
  const common = { eventStore: store.client, host: "127.0.0.1", port: 0, snapshotEvery: 100, maxConflictRetries: 20, logger: silent, tokens };

  const productCommandServer = await startCommandServer({ ...common, contexts: ["product"] });
  const productQueryServer = await startQueryServer({ db, tokens, port: 0, logger: silent, contexts: ["product"] });
  const shopCommandServer: RunningCommandServer = await startCommandServer({
    ...common,
    contexts: ["member", "order"],
    readDb: db,
    settings: { member: { passwordCost: TEST_PASSWORD_COST } },
  });
  const shopQueryServer = await startQueryServer({ db, tokens, port: 0, logger: silent, contexts: ["member", "order"] });
  const projectorOptions = { snapshotEvery: 100, maxConflictRetries: 20, logger: silent };
  const runProjector = (): RunningProjector =>
    startProjector({
      client: store.client,
      db,
      // The read models these tests read (the process runs more; only these matter here).
      projections: [productProjection, orderProjection, orderCatalogProjection],
      reactors: reactors({ client: store.client, ...projectorOptions }),
      logger: silent,
      maxRetries: 5,
      retryBaseMs: 20,
    });
  let projector: RunningProjector | undefined = runProjector();

  const transport = (url: string, token?: string) => createGrpcTransport({ baseUrl: url, interceptors: bearer(token) });
  let productServersUp = true;
  const stopProductServers = async () => {
    if (!productServersUp) return;
    productServersUp = false;
    await productCommandServer.close();
    await productQueryServer.close();
  };

  return {
    store,
    db,
    readDbUrl: readDb.url,
    tokens,
    adminToken,
    productUrls: { commands: productCommandServer.url, queries: productQueryServer.url },
    productCommands: createClient(ProductCommandService, transport(productCommandServer.url, adminToken)),
    productQueries: createClient(ProductQueryService, transport(productQueryServer.url)),
    products: new AggregateRepository(store.client, productAggregate, { snapshotEvery: 0, maxConflictRetries: 0 }),
    members: createClient(MemberCommandService, transport(shopCommandServer.url)),
    orderCommandsAs: (token) => createClient(OrderCommandService, transport(shopCommandServer.url, token)),
    orderQueriesAs: (token) => createClient(OrderQueryService, transport(shopQueryServer.url, token)),
    stopProductServers,
    async pauseProjector() {
      await projector?.stop();
      projector = undefined;
    },
    resumeProjector() {
      projector ??= runProjector();
    },
    async close() {
      await projector?.stop();
      await stopProductServers();
      await shopCommandServer.close();
      await shopQueryServer.close();
      await db.$disconnect();
      await store.close();
      await readDb.drop();
    },
  };
}

/** Registers a member and logs in through MemberCommandService; returns the member's id and token. */
export async function registerMember(shop: Shop, loginId: string): Promise<{ memberId: string; token: string }> {
  const password = "correct horse battery";
  const { memberId } = await shop.members.registerMember({
    loginId,
    name: `Member ${loginId}`,
    email: `${loginId}@example.com`,
    password,
    address: "1 Main St",
  });
  const login = await shop.members.login({ loginId, password });
  return { memberId, token: login.accessToken };
}

export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function createProduct(shop: Shop, name: string, price: bigint, inventory: bigint): Promise<string> {
  const { productId } = await shop.productCommands.createProduct({ name, price, inventory, imagePath: "", description: name });
  // The order catalog trails product events: wait until the order context knows the product.
  await eventually(async () => (await shop.db.orderCatalogProduct.findUnique({ where: { id: productId } })) ?? undefined, `catalog row of ${name}`);
  return productId;
}
