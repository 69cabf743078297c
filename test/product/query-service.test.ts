// ProductQueryService over real gRPC, on a temp SQLite read database (migrations applied)
// seeded through the projection's checkpointed apply path.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb";
import { ProductCreatedSchema, ProductNameChangedSchema } from "../../gen/eventmall/product/v1/events_pb";
import { ProductQueryService, ProductSort, type Product } from "../../gen/eventmall/product/v1/queries_pb";
import { EventCodec } from "../../src/kernel/write/event-codec";
import { applyWithCheckpoint, type ProjectedEvent } from "../../src/kernel/read/projector-checkpoint";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { encodePositionToken } from "../../src/kernel/read/read-your-writes";
import { productProjection } from "../../src/product/projection";
import { startQueryServer } from "../../services/query/server";
import { testTokenService } from "../kernel/auth-fixtures";
import { createMigratedReadDb, READ_DB_PROVIDERS, type TestReadDb } from "../support/read-db";

const codec = new EventCodec([ProductCreatedSchema, ProductNameChangedSchema]);
const metadata = { correlationId: "test", causationId: "test" };

interface Seeded {
  id: string;
  name: string;
  price: bigint;
  createdAt: Date;
}

const NAMES = ["Apple", "apricot", "Banana", "blueberry", "Cherry", "Date 50%", "elderberry", "Fig_1", "grape", "Kiwi", "lemon", "Mango", "nectarine"];

let readDb: TestReadDb;
let db: ReadDb;
let server: Awaited<ReturnType<typeof startQueryServer>>;
let client: Client<typeof ProductQueryService>;
let seeded: Seeded[] = [];
let position = 0n;

function projected(streamId: string, revision: bigint, event: ReturnType<typeof codec.encode>): ProjectedEvent {
  position += 1n;
  return {
    id: randomUUID(),
    streamId,
    revision,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    created: new Date(),
    position: { commit: position, prepare: position },
  };
}

// Runs against each read-database provider: the same assertions hold on SQLite and PostgreSQL.
describe.each(READ_DB_PROVIDERS)("on %s", (provider) => {
  beforeAll(async () => {
    seeded = [];
    readDb = await createMigratedReadDb(provider);
    db = await openReadDb(readDb.url);
    for (const [i, name] of NAMES.entries()) {
      const id = randomUUID();
      // Prices repeat so paging must break ties by id; creation times repeat too.
      const product = { id, name, price: BigInt(100 * (1 + (i % 4))), createdAt: new Date(Date.UTC(2026, 0, 1 + Math.floor(i / 2))) };
      seeded.push(product);
      const createdEvent = codec.encode(
        ProductCreatedSchema,
        create(ProductCreatedSchema, {
          productId: id,
          name: i === 0 ? "temporary name" : name,
          price: product.price,
          inventory: 10n,
          imagePath: `img/${i}.png`,
          description: `about ${name}`,
          createdAt: timestampFromDate(product.createdAt),
        }),
        metadata,
      );
      await applyWithCheckpoint(db, productProjection, projected(`product-${id}`, 0n, createdEvent));
      if (i === 0) {
        const renamed = codec.encode(ProductNameChangedSchema, create(ProductNameChangedSchema, { productId: id, name, changedAt: timestampFromDate(new Date(Date.UTC(2026, 5, 1))) }), metadata);
        await applyWithCheckpoint(db, productProjection, projected(`product-${id}`, 1n, renamed));
      }
    }
    server = await startQueryServer({ db, tokens: testTokenService(), host: "127.0.0.1", port: 0 });
    client = createClient(ProductQueryService, createGrpcTransport({ baseUrl: server.url }));
  });

  afterAll(async () => {
    await server?.close();
    await db?.$disconnect();
    await readDb?.drop();
  });

  async function expectCode(call: Promise<unknown>, code: Code): Promise<ConnectError> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(code);
    return error as ConnectError;
  }

  async function listAll(request: { pageSize: number; sort?: ProductSort; nameContains?: string }): Promise<Product[]> {
    const all: Product[] = [];
    let pageToken = "";
    for (let pages = 0; pages < 100; pages++) {
      const page = await client.listProducts({ ...request, pageToken });
      expect(page.products.length).toBeLessThanOrEqual(request.pageSize);
      all.push(...page.products);
      if (page.nextPageToken === "") return all;
      pageToken = page.nextPageToken;
    }
    throw new Error("paging did not end");
  }

  function compare(a: string | bigint | number, b: string | bigint | number): number {
    return a < b ? -1 : a > b ? 1 : 0;
  }

  describe("ProductQueryService", () => {
    it("gets a product with the fields the projection wrote", async () => {
      const apple = seeded[0]!;
      const { product } = await client.getProduct({ productId: apple.id });
      expect(product?.productId).toBe(apple.id);
      expect(product?.name).toBe("Apple");
      expect(product?.price).toBe(100n);
      expect(product?.inventory).toBe(10n);
      expect(product?.imagePath).toBe("img/0.png");
      expect(product?.description).toBe("about Apple");
      expect(product?.revision).toBe(1n);
      expect(product?.createdAt?.seconds).toBe(BigInt(apple.createdAt.getTime() / 1000));
      expect(product?.updatedAt?.seconds).toBe(BigInt(Date.UTC(2026, 5, 1) / 1000));
    });

    it("answers a position_token the read model has passed, and refuses a malformed one", async () => {
      const { product } = await client.getProduct({ productId: seeded[1]!.id, positionToken: encodePositionToken(position) });
      expect(product?.name).toBe("apricot");
      await expectCode(client.getProduct({ productId: seeded[1]!.id, positionToken: "anything" }), Code.InvalidArgument);
    });

    it("answers NOT_FOUND for an unknown id and INVALID_ARGUMENT for a malformed one", async () => {
      await expectCode(client.getProduct({ productId: randomUUID() }), Code.NotFound);
      await expectCode(client.getProduct({ productId: "not-a-uuid" }), Code.InvalidArgument);
      await expectCode(client.getProduct({ productId: "" }), Code.InvalidArgument);
    });

    it("pages through every product exactly once, in each sort order", async () => {
      const byName = (a: Seeded, b: Seeded) => compare(a.name.toLowerCase(), b.name.toLowerCase()) || compare(a.id, b.id);
      const expectations: [ProductSort, (a: Seeded, b: Seeded) => number][] = [
        [ProductSort.UNSPECIFIED, (a, b) => compare(b.createdAt.getTime(), a.createdAt.getTime()) || compare(b.id, a.id)],
        [ProductSort.CREATED_DESC, (a, b) => compare(b.createdAt.getTime(), a.createdAt.getTime()) || compare(b.id, a.id)],
        [ProductSort.NAME_ASC, byName],
        [ProductSort.PRICE_ASC, (a, b) => compare(a.price, b.price) || compare(a.id, b.id)],
        [ProductSort.PRICE_DESC, (a, b) => compare(b.price, a.price) || compare(b.id, a.id)],
      ];
      for (const [sort, order] of expectations) {
        const ids = (await listAll({ pageSize: 3, sort })).map((p) => p.productId);
        expect(ids, ProductSort[sort]).toEqual([...seeded].sort(order).map((p) => p.id));
      }
    });

    it("uses 20 as the default page size", async () => {
      const page = await client.listProducts({ pageSize: 0 });
      expect(page.products).toHaveLength(NAMES.length); // fewer than 20 seeded
      expect(page.nextPageToken).toBe("");
    });

    it("filters by a case-insensitive, literal name substring", async () => {
      const names = async (nameContains: string) => (await listAll({ pageSize: 2, sort: ProductSort.NAME_ASC, nameContains })).map((p) => p.name);
      expect(await names("AP")).toEqual(["Apple", "apricot", "grape"]);
      expect(await names("berry")).toEqual(["blueberry", "elderberry"]);
      expect(await names("50%")).toEqual(["Date 50%"]);
      expect(await names("_")).toEqual(["Fig_1"]);
      expect(await names("%")).toEqual(["Date 50%"]);
      expect(await names("zzz")).toEqual([]);
    });

    it("rejects a bad or mismatched page_token with INVALID_ARGUMENT", async () => {
      await expectCode(client.listProducts({ pageSize: 2, pageToken: "garbage!" }), Code.InvalidArgument);
      await expectCode(client.listProducts({ pageSize: 2, pageToken: Buffer.from('{"k":1}').toString("base64url") }), Code.InvalidArgument);
      const first = await client.listProducts({ pageSize: 2, sort: ProductSort.PRICE_ASC });
      expect(first.nextPageToken).not.toBe("");
      await expectCode(client.listProducts({ pageSize: 2, sort: ProductSort.NAME_ASC, pageToken: first.nextPageToken }), Code.InvalidArgument);
      await expectCode(client.listProducts({ pageSize: 2, sort: ProductSort.PRICE_ASC, nameContains: "a", pageToken: first.nextPageToken }), Code.InvalidArgument);
      // A tampered token (right scope, key out of the column's range) is refused, not passed to the database.
      const tampered = { ...JSON.parse(Buffer.from(first.nextPageToken, "base64url").toString()), k: "99999999999999999999" };
      await expectCode(client.listProducts({ pageSize: 2, sort: ProductSort.PRICE_ASC, pageToken: Buffer.from(JSON.stringify(tampered)).toString("base64url") }), Code.InvalidArgument);
      // The same token with the same filter and sort is fine, with any page size.
      const second = await client.listProducts({ pageSize: 5, sort: ProductSort.PRICE_ASC, pageToken: first.nextPageToken });
      expect(second.products).toHaveLength(5);
    });

    it("rejects a page_size outside 0..100 and an unknown sort with INVALID_ARGUMENT", async () => {
      for (const pageSize of [-1, 101, 1000]) {
        const error = await expectCode(client.listProducts({ pageSize }), Code.InvalidArgument);
        expect(error.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(["page_size"]);
      }
      await expectCode(client.listProducts({ sort: 42 as ProductSort }), Code.InvalidArgument);
      expect((await client.listProducts({ pageSize: 100 })).products).toHaveLength(NAMES.length);
    });
  });
});
