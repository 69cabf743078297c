// ProductQueryService: reads the product read model (eventually consistent with commands).
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  ProductQueryService,
  ProductSchema,
  ProductSort,
  type ListProductsRequest,
  type Product,
} from "../../gen/eventmall/product/v1/queries_pb";
import type { Product as ProductRow, Prisma } from "../generated/read-db/sqlite/client";
import { invalidArgument, notFound, type FieldViolation } from "../kernel/grpc/errors";
import { readPageSize, uuidViolation } from "../kernel/grpc/fields";
import { pageTokens } from "../kernel/grpc/page-tokens";
import type { ReadDb } from "../kernel/read/read-db";
import { ReadYourWrites } from "../kernel/read/read-your-writes";
import { foldName, productProjection } from "./projection";

const MAX_NAME_FILTER_LENGTH = 200;

export function productQueryService(db: ReadDb, readYourWrites = new ReadYourWrites({ db, timeoutMs: 2000 })): ServiceImpl<typeof ProductQueryService> {
  return {
    async getProduct(request) {
      const badId = uuidViolation("product_id", request.productId);
      if (badId) throw invalidArgument([badId]);
      await readYourWrites.waitFor(productProjection, request.positionToken);
      const row = await db.product.findUnique({ where: { id: request.productId.toLowerCase() } });
      if (!row) throw notFound(`product ${request.productId} not found`);
      return { product: toMessage(row) };
    },

    async listProducts(request) {
      const query = parseListRequest(request);
      await readYourWrites.waitFor(productProjection, request.positionToken);
      const rows = await db.product.findMany({
        where: { AND: [query.filter, query.after ? afterKey(query.order, query.after) : {}] },
        orderBy: orderBy(query.order),
        take: query.pageSize + 1,
      });
      const page = rows.slice(0, query.pageSize);
      const last = page.at(-1);
      const nextPageToken = rows.length > query.pageSize && last ? encodePageToken(query.order, query.scope, last) : "";
      return { products: page.map(toMessage), nextPageToken };
    },
  };
}

/** A sort order as the database sees it: one key column, then id in the same direction. */
type Order = { key: "createdAt" | "nameFolded" | "price"; direction: "asc" | "desc" };
type KeyValue = Date | string | bigint;
type Cursor = { key: KeyValue; id: string };

const ORDERS: Record<number, Order> = {
  [ProductSort.UNSPECIFIED]: { key: "createdAt", direction: "desc" },
  [ProductSort.CREATED_DESC]: { key: "createdAt", direction: "desc" },
  [ProductSort.NAME_ASC]: { key: "nameFolded", direction: "asc" },
  [ProductSort.PRICE_ASC]: { key: "price", direction: "asc" },
  [ProductSort.PRICE_DESC]: { key: "price", direction: "desc" },
};

function parseListRequest(request: ListProductsRequest) {
  const violations: FieldViolation[] = [];
  const { pageSize, violation } = readPageSize(request.pageSize);
  if (violation) violations.push(violation);
  if (request.nameContains.length > MAX_NAME_FILTER_LENGTH) {
    violations.push({ field: "name_contains", description: `must be at most ${MAX_NAME_FILTER_LENGTH} characters` });
  }
  const order = ORDERS[request.sort];
  if (!order) violations.push({ field: "sort", description: "unknown sort order" });
  if (violations.length > 0 || !order) throw invalidArgument(violations);

  const nameContains = foldName(request.nameContains);
  const scope = hashScope(nameContains, order);
  const after = request.pageToken === "" ? undefined : decodePageToken(request.pageToken, order, scope);
  const filter: Prisma.ProductWhereInput = nameContains === "" ? {} : { nameFolded: { contains: nameContains } };
  return { pageSize, order, scope, after, filter };
}

function orderBy(order: Order): Prisma.ProductOrderByWithRelationInput[] {
  return [{ [order.key]: order.direction }, { id: order.direction }];
}

/** Rows strictly after the cursor in the sort order (keyset pagination). */
function afterKey(order: Order, cursor: Cursor): Prisma.ProductWhereInput {
  const beyond = order.direction === "asc" ? "gt" : "lt";
  return {
    OR: [{ [order.key]: { [beyond]: cursor.key } }, { [order.key]: cursor.key, id: { [beyond]: cursor.id } }],
  };
}

function hashScope(nameContains: string, order: Order): string {
  return createHash("sha256").update(JSON.stringify([nameContains, order.key, order.direction])).digest("base64url").slice(0, 16);
}

// A token is only valid for the filter and order it was issued for (its scope: hashScope).
const productPages = pageTokens({ method: "ListProducts", keys: ["k", "id"], wrongScope: "was issued for a different name_contains or sort" });

function encodePageToken(order: Order, scope: string, row: ProductRow): string {
  const key = row[order.key];
  return productPages.encode({ k: key instanceof Date ? key.toISOString() : String(key), id: row.id }, scope);
}

function decodePageToken(token: string, order: Order, scope: string): Cursor {
  const { k, id } = productPages.decode(token, scope);
  const key = parseKey(order, k);
  if (key === undefined) throw productPages.notIssuedHere();
  return { key, id };
}

function parseKey(order: Order, k: string): KeyValue | undefined {
  switch (order.key) {
    case "createdAt": {
      const date = new Date(k);
      return Number.isNaN(date.getTime()) ? undefined : date;
    }
    case "price": {
      const price = /^-?\d{1,19}$/.test(k) ? BigInt(k) : undefined;
      return price !== undefined && BigInt.asIntN(64, price) === price ? price : undefined;
    }
    case "nameFolded":
      return k;
  }
}

function toMessage(row: ProductRow): Product {
  return create(ProductSchema, {
    productId: row.id,
    name: row.name,
    price: row.price,
    inventory: row.inventory,
    imagePath: row.imagePath,
    description: row.description,
    createdAt: timestampFromDate(row.createdAt),
    updatedAt: timestampFromDate(row.updatedAt),
    revision: row.revision,
  });
}
