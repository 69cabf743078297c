// Order's public integration events. Delivery details (address, phone, message) are personal data
// and never published; a consumer that ships asks the Order service for them with the order id.
import {
  OrderCancelledSchema as PublicOrderCancelled,
  OrderConfirmedSchema as PublicOrderConfirmed,
  OrderPlacedSchema as PublicOrderPlaced,
  OrderRejectedSchema as PublicOrderRejected,
  OrderShippedSchema as PublicOrderShipped,
  OrderLineSchema as PublicOrderLineSchema,
} from "../../gen/eventmall/integration/v1/events_pb";
import { OrderCancelledSchema, OrderConfirmedSchema, OrderPlacedSchema, OrderRejectedSchema, OrderShippedSchema, type OrderLine, type OrderPlaced } from "../../gen/eventmall/order/v1/events_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { defineContextMapping, message, publish } from "../kernel/publisher/mapping";
import { orderAggregate } from "./decider";

const publicLines = (lines: OrderLine[]): MessageInitShape<typeof PublicOrderLineSchema>[] =>
  lines.map(({ line, productId, productName, unitPrice, quantity, lineTotal }) => ({ line, productId, productName, unitPrice, quantity, lineTotal }));

export const orderIntegration = defineContextMapping({
  context: "order",
  aggregate: orderAggregate,
  rules: [
    publish(OrderPlacedSchema, (e) =>
      message(PublicOrderPlaced, { orderId: e.orderId, memberId: e.memberId, lines: publicLines(e.lines), total: e.total, placedAt: e.placedAt }),
    ),
    // A confirmation is what a fulfilment service acts on: it carries the lines and total of the
    // order's OrderPlaced (the first event of every order stream), so the consumer needs no lookup.
    publish(OrderConfirmedSchema, async (e, history) => {
      const placed = (await history.first()).message as OrderPlaced;
      return message(PublicOrderConfirmed, {
        orderId: e.orderId,
        memberId: placed.memberId,
        lines: publicLines(placed.lines),
        total: placed.total,
        confirmedAt: e.confirmedAt,
      });
    }),
    // `detail` is free text meant for our own operators; `reason` and `line` are the contract.
    publish(OrderRejectedSchema, (e) => message(PublicOrderRejected, { orderId: e.orderId, reason: e.reason, line: e.line, rejectedAt: e.rejectedAt })),
    publish(OrderCancelledSchema, (e) => message(PublicOrderCancelled, { orderId: e.orderId, cancelledAt: e.cancelledAt })),
    publish(OrderShippedSchema, (e) => message(PublicOrderShipped, { orderId: e.orderId, shippedAt: e.shippedAt })),
  ],
});
