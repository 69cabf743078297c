// The Order aggregate: pure rules over its events. An order is PLACED by its member with lines
// priced by the caller (from the order catalog), then CONFIRMED or REJECTED by the stock
// reservation process, and may be CANCELLED before it is SHIPPED.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  DeliverySchema,
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderLineSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
  OrderShippedSchema,
  type OrderCancelled,
  type OrderConfirmed,
  type OrderLine,
  type OrderPlaced,
  type OrderRejected,
  type OrderShipped,
} from "../../gen/eventmall/order/v1/events_pb";
import { DomainRuleViolation, type Decider, type FieldViolation } from "../kernel/write/decider";
import { streamCategory, type AggregateDefinition } from "../kernel/write/aggregate";
import { EventCodec } from "../kernel/write/event-codec";
import { deliveryViolations, itemCountViolations, lineViolation } from "./rules";

/** Order streams: "order-<id>". */
export const OrderStream = streamCategory("order");
export const INT64_MAX = 2n ** 63n - 1n;

export type OrderStatus = "placed" | "confirmed" | "rejected" | "cancelled" | "shipped";

export interface PricedLine {
  productId: string;
  productName: string;
  unitPrice: bigint;
  quantity: bigint;
}

export interface DeliveryDetails {
  address: string;
  phone: string;
  message: string;
}

export type OrderState =
  | { exists: false }
  | { exists: true; orderId: string; memberId: string; status: OrderStatus; lines: readonly OrderLine[] };

export type OrderCommand =
  | { type: "PlaceOrder"; orderId: string; memberId: string; lines: PricedLine[]; delivery: DeliveryDetails; now: Date }
  | { type: "ConfirmOrder"; orderId: string; now: Date }
  | { type: "RejectOrder"; orderId: string; reason: string; line: number; detail: string; now: Date }
  | { type: "CancelOrder"; orderId: string; now: Date }
  | { type: "ShipOrder"; orderId: string; now: Date };

export type OrderEvent = OrderPlaced | OrderConfirmed | OrderRejected | OrderCancelled | OrderShipped;

export const orderEventMessages = [
  OrderPlacedSchema,
  OrderConfirmedSchema,
  OrderRejectedSchema,
  OrderCancelledSchema,
  OrderShippedSchema,
] as const;

export const orderEvents = new EventCodec(orderEventMessages);

/** Field rules of a command (field names as in the contract; see rules.ts). */
export function orderCommandViolations(command: OrderCommand): FieldViolation[] {
  if (command.type !== "PlaceOrder") return [];
  const violations = itemCountViolations(command.lines.length);
  command.lines.forEach((line, index) => {
    const problem = lineViolation(`items[${index}]`, line);
    if (problem) violations.push(problem);
  });
  return [...violations, ...deliveryViolations(command.delivery)];
}

function decide(command: OrderCommand, state: OrderState): OrderEvent[] {
  const violations = orderCommandViolations(command);
  if (violations.length > 0) throw DomainRuleViolation.invalidArgument(violations);
  const { orderId } = command;
  const at = timestampFromDate(command.now);
  if (command.type === "PlaceOrder") {
    if (state.exists) throw DomainRuleViolation.alreadyExists(`order ${orderId} already exists`);
    return [placeOrder(command)];
  }
  if (!state.exists) throw DomainRuleViolation.notFound(`order ${orderId} not found`);
  const { status } = state;
  const refuse = (what: string, reason: string) =>
    DomainRuleViolation.failedPrecondition(`order ${orderId} is ${status}: cannot ${what}`, reason);

  switch (command.type) {
    case "ConfirmOrder":
      if (status === "confirmed") return [];
      if (status !== "placed") throw refuse("confirm it", "ORDER_NOT_PENDING");
      return [create(OrderConfirmedSchema, { orderId, confirmedAt: at })];
    case "RejectOrder":
      if (status === "rejected") return [];
      if (status !== "placed") throw refuse("reject it", "ORDER_NOT_PENDING");
      return [create(OrderRejectedSchema, { orderId, reason: command.reason, line: command.line, detail: command.detail, rejectedAt: at })];
    case "CancelOrder":
      if (status === "cancelled") return [];
      if (status === "shipped") throw refuse("cancel it", "ORDER_ALREADY_SHIPPED");
      if (status === "rejected") throw refuse("cancel it", "ORDER_REJECTED");
      return [create(OrderCancelledSchema, { orderId, cancelledAt: at })];
    case "ShipOrder":
      if (status === "shipped") return [];
      if (status !== "confirmed") throw refuse("ship it", "ORDER_NOT_CONFIRMED");
      return [create(OrderShippedSchema, { orderId, shippedAt: at })];
  }
}

function placeOrder(command: Extract<OrderCommand, { type: "PlaceOrder" }>): OrderPlaced {
  let total = 0n;
  const lines = command.lines.map((line, index) => {
    const lineTotal = line.unitPrice * line.quantity;
    total += lineTotal;
    return create(OrderLineSchema, { line: index + 1, ...line, lineTotal });
  });
  if (total > INT64_MAX) {
    throw DomainRuleViolation.failedPrecondition("the order's total exceeds the largest amount an order can carry", "ORDER_TOTAL_TOO_LARGE");
  }
  return create(OrderPlacedSchema, {
    orderId: command.orderId,
    memberId: command.memberId,
    lines,
    total,
    delivery: create(DeliverySchema, command.delivery),
    placedAt: timestampFromDate(command.now),
  });
}

const STATUS_AFTER: Record<Exclude<OrderEvent["$typeName"], "eventmall.order.v1.OrderPlaced">, OrderStatus> = {
  "eventmall.order.v1.OrderConfirmed": "confirmed",
  "eventmall.order.v1.OrderRejected": "rejected",
  "eventmall.order.v1.OrderCancelled": "cancelled",
  "eventmall.order.v1.OrderShipped": "shipped",
};

function evolve(state: OrderState, event: OrderEvent): OrderState {
  if (event.$typeName === "eventmall.order.v1.OrderPlaced") {
    return { exists: true, orderId: event.orderId, memberId: event.memberId, status: "placed", lines: event.lines };
  }
  if (!state.exists) return state;
  return { ...state, status: STATUS_AFTER[event.$typeName] };
}

export const orderDecider: Decider<OrderState, OrderCommand, OrderEvent> = {
  initialState: () => ({ exists: false }),
  decide,
  evolve,
};

export const orderAggregate: AggregateDefinition<OrderState, OrderCommand, OrderEvent> = {
  stream: OrderStream,
  decider: orderDecider,
  events: orderEventMessages,
};
