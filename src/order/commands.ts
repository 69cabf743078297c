// OrderCommandService: the authenticated member places and cancels orders; an admin ships them.
// Prices come from the order context's own catalog in the read database, never from a call to
// the product services; stock is taken afterwards by the stock reservation process.
import { randomUUID } from "node:crypto";
import type { ServiceImpl } from "@connectrpc/connect";
import { OrderCommandService } from "../../gen/eventmall/order/v1/commands_pb";
import { ADMIN_ROLE, type TokenService } from "../kernel/auth/auth";
import type { ErrorLogger } from "../kernel/write/command-errors";
import { commandHandler } from "../kernel/write/command-handler";
import { failedPrecondition, notFound, permissionDenied } from "../kernel/grpc/errors";
import type { ReadDb } from "../kernel/read/read-db";
import { writeResult } from "../kernel/write/write-result";
import { INSUFFICIENT_INVENTORY } from "../product/decider";
import { orderCommandViolations, type OrderCommand, type PricedLine } from "./decider";
import { parseOrderId, readPlaceOrder, type RequestedLine } from "./rules";
import type { OrderRepository } from "./stock-reservation";

export interface OrderCommandDependencies {
  repository: OrderRepository;
  /** Read database holding the order catalog (order_catalog_product). */
  readDb: ReadDb;
  tokens: TokenService;
  logger: ErrorLogger;
  clock?: () => Date;
  newOrderId?: () => string;
}

export function orderCommandService(deps: OrderCommandDependencies): ServiceImpl<typeof OrderCommandService> {
  const clock = deps.clock ?? (() => new Date());
  const newOrderId = deps.newOrderId ?? randomUUID;
  const handler = commandHandler({ ...deps, fieldRules: orderCommandViolations });

  /** The order, when it exists and belongs to the caller (NOT_FOUND / PERMISSION_DENIED otherwise). */
  async function ownOrder(orderId: string, memberId: string): Promise<void> {
    const loaded = await handler.guarded(() => deps.repository.load(orderId));
    if (!loaded.state.exists) throw notFound(`order ${orderId} not found`);
    if (loaded.state.memberId !== memberId) throw permissionDenied("this order belongs to another member", "NOT_ORDER_OWNER");
  }

  return {
    async placeOrder(request, context) {
      const caller = await handler.authorize(context);
      const { violations, lines: requested, delivery } = readPlaceOrder(request);
      // Every field before the catalogue is read: pricing needs well-formed product ids.
      handler.validate(violations, "invalid PlaceOrder request");
      const lines = await priceLines(deps.readDb, requested);
      const orderId = newOrderId();
      const command: OrderCommand = { type: "PlaceOrder", orderId, memberId: caller.subject, lines, delivery, now: clock() };
      const outcome = await handler.execute(context, { id: orderId, command, invalidMessage: "invalid PlaceOrder request" });
      const total = lines.reduce((sum, line) => sum + line.unitPrice * line.quantity, 0n);
      return { orderId, total, result: writeResult(outcome) };
    },

    async cancelOrder(request, context) {
      const caller = await handler.authorize(context);
      const orderId = parseOrderId(request.orderId);
      await ownOrder(orderId, caller.subject);
      return { result: writeResult(await handler.execute(context, { id: orderId, command: { type: "CancelOrder", orderId, now: clock() } })) };
    },

    async shipOrder(request, context) {
      await handler.authorize(context, ADMIN_ROLE);
      const orderId = parseOrderId(request.orderId);
      return { result: writeResult(await handler.execute(context, { id: orderId, command: { type: "ShipOrder", orderId, now: clock() } })) };
    },
  };
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
