// OrderCommandService: the authenticated member places and cancels orders; an admin ships them.
// Prices come from the order context's own catalog in the read database, never from a call to
// the product services; stock is taken afterwards by the stock reservation process.
import { randomUUID } from "node:crypto";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { OrderCommandService, type PlaceOrderRequest } from "../../gen/eventmall/order/v1/commands_pb";
import { ADMIN_ROLE, authenticate, requireRole, type TokenService } from "../kernel/auth/auth";
import { commandErrorToStatus, type ErrorLogger } from "../kernel/write/command-errors";
import type { FieldViolation } from "../kernel/write/decider";
import { failedPrecondition, invalidArgument, notFound, permissionDenied } from "../kernel/grpc/errors";
import { CORRELATION_HEADER, requestMetadata } from "../kernel/write/metadata";
import type { ReadDb } from "../kernel/read/read-db";
import type { HandleResult } from "../kernel/write/repository";
import { writeResult } from "../kernel/write/write-result";
import { INSUFFICIENT_INVENTORY } from "../product/decider";
import type { DeliveryDetails, OrderCommand, PricedLine } from "./decider";
import type { OrderRepository } from "./stock-reservation";

export const MAX_ORDER_ITEMS = 100;
export const MAX_LINE_QUANTITY = 10_000n;
const MAX_ADDRESS_LENGTH = 500;
const MAX_MESSAGE_LENGTH = 500;
const PHONE = /^\+?[0-9][0-9 ()-]{3,30}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface OrderCommandDependencies {
  repository: OrderRepository;
  /** Read database holding the order catalog (order_catalog_product). */
  readDb: ReadDb;
  tokens: TokenService;
  logger: ErrorLogger;
  clock?: () => Date;
  newOrderId?: () => string;
}

interface RequestedLine {
  productId: string;
  quantity: bigint;
}

export function orderCommandService(deps: OrderCommandDependencies): ServiceImpl<typeof OrderCommandService> {
  const clock = deps.clock ?? (() => new Date());
  const newOrderId = deps.newOrderId ?? randomUUID;

  async function execute(context: HandlerContext, orderId: string, command: OrderCommand): Promise<HandleResult<unknown, unknown>> {
    const metadata = requestMetadata(context.requestHeader);
    context.responseHeader.set(CORRELATION_HEADER, metadata.correlationId);
    try {
      return await deps.repository.handle(orderId, command, { metadata });
    } catch (error) {
      throw commandErrorToStatus(error, deps.logger);
    }
  }

  /** The order, when it exists and belongs to the caller (NOT_FOUND / PERMISSION_DENIED otherwise). */
  async function ownOrder(orderId: string, memberId: string): Promise<void> {
    let loaded;
    try {
      loaded = await deps.repository.load(orderId);
    } catch (error) {
      throw commandErrorToStatus(error, deps.logger);
    }
    if (!loaded.state.exists) throw notFound(`order ${orderId} not found`);
    if (loaded.state.memberId !== memberId) throw permissionDenied("this order belongs to another member", "NOT_ORDER_OWNER");
  }

  return {
    async placeOrder(request, context) {
      const caller = await authenticate(context, deps.tokens);
      const { lines: requested, delivery } = parsePlaceOrder(request);
      const lines = await priceLines(deps.readDb, requested);
      const orderId = newOrderId();
      const command: OrderCommand = { type: "PlaceOrder", orderId, memberId: caller.subject, lines, delivery, now: clock() };
      const outcome = await execute(context, orderId, command);
      const total = lines.reduce((sum, line) => sum + line.unitPrice * line.quantity, 0n);
      return { orderId, total, result: writeResult(outcome) };
    },

    async cancelOrder(request, context) {
      const caller = await authenticate(context, deps.tokens);
      const orderId = parseOrderId(request.orderId);
      await ownOrder(orderId, caller.subject);
      return { result: writeResult(await execute(context, orderId, { type: "CancelOrder", orderId, now: clock() })) };
    },

    async shipOrder(request, context) {
      requireRole(await authenticate(context, deps.tokens), ADMIN_ROLE);
      const orderId = parseOrderId(request.orderId);
      return { result: writeResult(await execute(context, orderId, { type: "ShipOrder", orderId, now: clock() })) };
    },
  };
}

export function parseOrderId(orderId: string): string {
  if (!UUID.test(orderId)) throw invalidArgument([{ field: "order_id", description: "must be an order id (UUID)" }]);
  return orderId.toLowerCase();
}

/** Checks every field at once; merges items naming the same product (first position kept). */
function parsePlaceOrder(request: PlaceOrderRequest): { lines: RequestedLine[]; delivery: DeliveryDetails } {
  const violations: FieldViolation[] = [];
  if (request.items.length === 0) violations.push({ field: "items", description: "must contain at least one item" });
  if (request.items.length > MAX_ORDER_ITEMS) violations.push({ field: "items", description: `must contain at most ${MAX_ORDER_ITEMS} items` });
  const merged = new Map<string, RequestedLine>();
  request.items.slice(0, MAX_ORDER_ITEMS).forEach((item, index) => {
    const field = `items[${index}]`;
    if (!UUID.test(item.productId)) {
      violations.push({ field: `${field}.product_id`, description: "must be a product id (UUID)" });
      return;
    }
    if (item.quantity < 1n || item.quantity > MAX_LINE_QUANTITY) {
      violations.push({ field: `${field}.quantity`, description: `must be between 1 and ${MAX_LINE_QUANTITY}` });
      return;
    }
    const productId = item.productId.toLowerCase();
    const line = merged.get(productId);
    if (!line) merged.set(productId, { productId, quantity: item.quantity });
    else if ((line.quantity += item.quantity) > MAX_LINE_QUANTITY) {
      violations.push({ field: `${field}.quantity`, description: `items of one product must add up to at most ${MAX_LINE_QUANTITY}` });
    }
  });

  const delivery = request.delivery;
  const address = delivery?.address.trim() ?? "";
  const phone = delivery?.phone.trim() ?? "";
  const message = delivery?.message.trim() ?? "";
  if (address === "") violations.push({ field: "delivery.address", description: "must not be empty" });
  else if ([...address].length > MAX_ADDRESS_LENGTH) violations.push({ field: "delivery.address", description: `must be at most ${MAX_ADDRESS_LENGTH} characters` });
  if (!PHONE.test(phone)) violations.push({ field: "delivery.phone", description: "must be a phone number (digits, spaces, + ( ) -)" });
  if ([...message].length > MAX_MESSAGE_LENGTH) violations.push({ field: "delivery.message", description: `must be at most ${MAX_MESSAGE_LENGTH} characters` });

  if (violations.length > 0) throw invalidArgument(violations, "invalid PlaceOrder request");
  return { lines: [...merged.values()], delivery: { address, phone, message } };
}

/**
 * Prices each line from the order catalog. A product it does not know, or whose catalog stock is
 * already below the quantity, is FAILED_PRECONDITION before anything is appended. The catalog can
 * trail the product streams either way: the stock reservation process stays the authority.
 */
async function priceLines(db: ReadDb, lines: RequestedLine[]): Promise<PricedLine[]> {
  const rows = await db.orderCatalogProduct.findMany({ where: { id: { in: lines.map((line) => line.productId) } } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return lines.map((line) => {
    const product = byId.get(line.productId);
    if (!product) {
      // The catalog trails product events by a moment: a product created just now may not be here yet.
      throw failedPrecondition(`product ${line.productId} is not in the catalog`, "UNKNOWN_PRODUCT", line.productId);
    }
    if (product.inventory < line.quantity) {
      throw failedPrecondition(
        `product ${line.productId} (${product.name}) has ${product.inventory} in stock, ${line.quantity} ordered`,
        INSUFFICIENT_INVENTORY,
        line.productId,
      );
    }
    return { productId: line.productId, productName: product.name, unitPrice: product.price, quantity: line.quantity };
  });
}
