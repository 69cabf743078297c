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
import { invalidArgument, notFound } from "../kernel/grpc/errors";
import type { ReadDb } from "../kernel/read/read-db";
import { ReadYourWrites } from "../kernel/read/read-your-writes";
import { foldName, productProjection } from "./projection";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
const MAX_NAME_FILTER_LENGTH = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function productQueryService(db: ReadDb, readYourWrites = new ReadYourWrites({ db, timeoutMs: 2000 })): ServiceImpl<typeof ProductQueryService> {
  return {
    async getProduct(request) {
      if (!UUID.test(request.productId)) {
        throw invalidArgument([{ field: "product_id", description: "must be a UUID" }]);
      }
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
  const violations: { field: string; description: string }[] = [];
  const pageSize = request.pageSize === 0 ? DEFAULT_PAGE_SIZE : request.pageSize;
  if (pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    violations.push({ field: "page_size", description: `must be between 1 and ${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE})` });
  }
  if (request.nameContains.length > MAX_NAME_FILTER_LENGTH) {
    violations.push({ field: "name_contains", description: `must be at most ${MAX_NAME_FILTER_LENGTH} characters` });
  }
  const order = ORDERS[request.sort];
  if (!order) violations.push({ field: "sort", description: "unknown sort order" });
  if (violations.length > 0 || !order) throw invalidArgument(violations);

  const nameContains = foldName(request.nameContains);
  // A token is only valid for the filter and order it was issued for.
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

function encodePageToken(order: Order, scope: string, row: ProductRow): string {
  const key = row[order.key];
  const k = key instanceof Date ? key.toISOString() : String(key);
  return Buffer.from(JSON.stringify({ k, id: row.id, s: scope })).toString("base64url");
}

function decodePageToken(token: string, order: Order, scope: string): Cursor {
  const bad = (description: string) => invalidArgument([{ field: "page_token", description }]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw bad("not a token issued by ListProducts");
  }
  if (!parsed || typeof parsed !== "object") throw bad("not a token issued by ListProducts");
  const { k, id, s } = parsed as Record<string, unknown>;
  if (typeof k !== "string" || typeof id !== "string" || typeof s !== "string") throw bad("not a token issued by ListProducts");
  if (s !== scope) throw bad("was issued for a different name_contains or sort");
  const key = parseKey(order, k);
  if (key === undefined) throw bad("not a token issued by ListProducts");
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
