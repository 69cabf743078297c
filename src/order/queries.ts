// OrderQueryService: orders from the order read model. A member reads only their own orders;
// an admin may read any. ListMemberOrders is the caller's "my page" history, newest first.
// GetOrder can wait: for a command's write (position_token) and for the order's outcome
// (wait_for_outcome: until the stock reservation process has moved it out of PLACED).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  OrderQueryService,
  OrderSchema,
  OrderStatus,
  type ListMemberOrdersRequest,
  type Order,
} from "../../gen/eventmall/order/v1/queries_pb";
import type { Order as OrderRow, OrderLine as OrderLineRow, Prisma } from "../generated/read-db/sqlite/client";
import { ADMIN_ROLE, authenticate, hasRole, type TokenService } from "../kernel/auth/auth";
import { invalidArgument, notFound, permissionDenied } from "../kernel/grpc/errors";
import { readPageSize } from "../kernel/grpc/fields";
import { pageTokens } from "../kernel/grpc/page-tokens";
import type { ReadDb } from "../kernel/read/read-db";
import { ReadYourWrites } from "../kernel/read/read-your-writes";
import { parseOrderId } from "./rules";
import { orderProjection } from "./projection";
import { pollUntil } from "../kernel/process/poll";

/** The longest GetOrder waits for an outcome (less when the call's deadline is nearer). */
export const MAX_OUTCOME_WAIT_MS = 10_000;
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 100;

const STATUS: Record<string, OrderStatus> = {
  placed: OrderStatus.PLACED,
  confirmed: OrderStatus.CONFIRMED,
  rejected: OrderStatus.REJECTED,
  cancelled: OrderStatus.CANCELLED,
  shipped: OrderStatus.SHIPPED,
};

type OrderWithLines = OrderRow & { lines: OrderLineRow[] };
const withLines = { lines: { orderBy: { line: "asc" } } } satisfies Prisma.OrderInclude;

export interface OrderQueryOptions {
  readYourWrites?: ReadYourWrites;
  /** Upper bound of a wait_for_outcome wait (default MAX_OUTCOME_WAIT_MS). */
  maxOutcomeWaitMs?: number;
}

export function orderQueryService(db: ReadDb, tokens: TokenService, options: OrderQueryOptions = {}): ServiceImpl<typeof OrderQueryService> {
  const readYourWrites = options.readYourWrites ?? new ReadYourWrites({ db, timeoutMs: 2000 });
  const maxOutcomeWaitMs = options.maxOutcomeWaitMs ?? MAX_OUTCOME_WAIT_MS;
  const load = (orderId: string) => db.order.findUnique({ where: { id: orderId }, include: withLines });

  /** The order once it has left PLACED, or as it is when the wait is over. */
  async function outcomeOf(row: OrderWithLines, context: HandlerContext): Promise<OrderWithLines> {
    // Answer a little before the caller's own deadline, so the answer still reaches it.
    const callerBound = context.timeoutMs() === undefined ? Infinity : context.timeoutMs()! * 0.8;
    const deadline = Date.now() + Math.min(maxOutcomeWaitMs, callerBound);
    let asked = false;
    await pollUntil(
      async () => {
        if (asked) row = (await load(row.id)) ?? row;
        asked = true;
        return row.status !== "placed";
      },
      { deadline, firstMs: FIRST_POLL_MS, maxMs: MAX_POLL_MS, signal: context.signal },
    );
    return row;
  }

  return {
    async getOrder(request, context) {
      const caller = await authenticate(context, tokens);
      const orderId = parseOrderId(request.orderId);
      await readYourWrites.waitFor(orderProjection, request.positionToken);
      const row = await load(orderId);
      if (!row) throw notFound(`order ${orderId} not found`);
      if (row.memberId !== caller.subject && !hasRole(caller, ADMIN_ROLE)) {
        throw permissionDenied("this order belongs to another member", "NOT_ORDER_OWNER");
      }
      return { order: toMessage(request.waitForOutcome ? await outcomeOf(row, context) : row) };
    },

    async listMemberOrders(request, context) {
      const caller = await authenticate(context, tokens);
      const { pageSize, after } = parseListRequest(request, caller.subject);
      await readYourWrites.waitFor(orderProjection, request.positionToken);
      const rows = await db.order.findMany({
        where: {
          memberId: caller.subject,
          ...(after ? { OR: [{ placedAt: { lt: after.placedAt } }, { placedAt: after.placedAt, id: { lt: after.id } }] } : {}),
        },
        orderBy: [{ placedAt: "desc" }, { id: "desc" }],
        take: pageSize + 1,
        include: withLines,
      });
      const page = rows.slice(0, pageSize);
      const last = page.at(-1);
      const nextPageToken = rows.length > pageSize && last ? encodePageToken(caller.subject, last) : "";
      return { orders: page.map(toMessage), nextPageToken };
    },
  };
}

type Cursor = { placedAt: Date; id: string };

function parseListRequest(request: ListMemberOrdersRequest, memberId: string): { pageSize: number; after?: Cursor } {
  const { pageSize, violation } = readPageSize(request.pageSize);
  if (violation) throw invalidArgument([violation]);
  return { pageSize, after: request.pageToken === "" ? undefined : decodePageToken(request.pageToken, memberId) };
}

// A token is valid only for the caller it was issued to.
const orderPages = pageTokens({ method: "ListMemberOrders", keys: ["t", "id"], scopeKey: "m", wrongScope: "was issued to another caller" });

function encodePageToken(memberId: string, row: OrderRow): string {
  return orderPages.encode({ t: row.placedAt.toISOString(), id: row.id }, memberId);
}

function decodePageToken(token: string, memberId: string): Cursor {
  const { t, id } = orderPages.decode(token, memberId);
  const placedAt = new Date(t);
  if (Number.isNaN(placedAt.getTime())) throw orderPages.notIssuedHere();
  return { placedAt, id };
}

function toMessage(row: OrderWithLines): Order {
  return create(OrderSchema, {
    orderId: row.id,
    memberId: row.memberId,
    status: STATUS[row.status] ?? OrderStatus.UNSPECIFIED,
    lines: row.lines.map((line) => ({
      line: line.line,
      productId: line.productId,
      productName: line.productName,
      unitPrice: line.unitPrice,
      quantity: line.quantity,
      lineTotal: line.lineTotal,
    })),
    total: row.total,
    delivery: { address: row.deliveryAddress, phone: row.deliveryPhone, message: row.deliveryMessage },
    placedAt: timestampFromDate(row.placedAt),
    updatedAt: timestampFromDate(row.updatedAt),
    rejectReason: row.rejectReason,
    rejectedLine: row.rejectedLine,
    revision: row.revision,
  });
}
