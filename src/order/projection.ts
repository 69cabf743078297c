// Order read model: one row per order plus its lines, for GetOrder and the member's history.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  type OrderCancelled,
  type OrderConfirmed,
  type OrderPlaced,
  type OrderRejected,
  type OrderShipped,
} from "../../gen/eventmall/order/v1/events_pb";
import { eventJson, type ProjectedEvent, type Projection } from "../kernel/read/projector";
import type { ReadTx } from "../kernel/read/read-db";
import { orderEvents, OrderStream, type OrderStatus } from "./decider";

const codec = orderEvents;

type OrderEvent = OrderPlaced | OrderConfirmed | OrderRejected | OrderCancelled | OrderShipped;

export const orderProjection: Projection = {
  name: "order",
  filter: { streamPrefixes: [OrderStream.prefix] },
  // Parent first: replacing "order" cascades to its lines, then the lines are replaced.
  tables: ["order", "order_line"],
  async apply(tx, event) {
    if (!event.streamId.startsWith(OrderStream.prefix) || !codec.knows(event.type)) return;
    const orderId = event.streamId.slice(OrderStream.prefix.length);
    const message = codec.decode(event.type, eventJson(event)).message as OrderEvent;
    if (message.orderId !== orderId) throw new Error(`event names order "${message.orderId}" but sits in stream ${event.streamId}`);
    if (message.$typeName === "eventmall.order.v1.OrderPlaced") return placed(tx, event, message);
    const row = await tx.order.findUnique({ where: { id: orderId }, select: { revision: true } });
    if (!row) throw new Error(`order ${orderId} is not in the read model yet (${event.type} at revision ${event.revision})`);
    // A retried event older than what the row shows must not roll the status back.
    if (event.revision <= row.revision) return;
    const { status, at, rejection } = outcome(message);
    await tx.order.update({
      where: { id: orderId },
      data: {
        status,
        updatedAt: at ? timestampDate(at) : event.created,
        revision: event.revision,
        ...(rejection ? { rejectReason: rejection.reason, rejectedLine: rejection.line } : {}),
      },
    });
  },
};

function outcome(event: Exclude<OrderEvent, OrderPlaced>): { status: OrderStatus; at?: Timestamp; rejection?: OrderRejected } {
  switch (event.$typeName) {
    case "eventmall.order.v1.OrderConfirmed":
      return { status: "confirmed", at: event.confirmedAt };
    case "eventmall.order.v1.OrderRejected":
      return { status: "rejected", at: event.rejectedAt, rejection: event };
    case "eventmall.order.v1.OrderCancelled":
      return { status: "cancelled", at: event.cancelledAt };
    case "eventmall.order.v1.OrderShipped":
      return { status: "shipped", at: event.shippedAt };
  }
}

async function placed(tx: ReadTx, event: ProjectedEvent, e: OrderPlaced): Promise<void> {
  const existing = await tx.order.findUnique({ where: { id: e.orderId }, select: { id: true } });
  if (existing) return;
  const placedAt = e.placedAt ? timestampDate(e.placedAt) : event.created;
  await tx.order.create({
    data: {
      id: e.orderId,
      memberId: e.memberId,
      status: "placed",
      total: e.total,
      deliveryAddress: e.delivery?.address ?? "",
      deliveryPhone: e.delivery?.phone ?? "",
      deliveryMessage: e.delivery?.message ?? "",
      placedAt,
      updatedAt: placedAt,
      revision: event.revision,
      lines: {
        create: e.lines.map((line) => ({
          line: line.line,
          productId: line.productId,
          productName: line.productName,
          unitPrice: line.unitPrice,
          quantity: line.quantity,
          lineTotal: line.lineTotal,
        })),
      },
    },
  });
}
