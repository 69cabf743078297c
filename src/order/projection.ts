// Order read model: one row per order plus its lines, for GetOrder and the member's history.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
  OrderShippedSchema,
  type OrderPlaced,
  type OrderRejected,
} from "../../gen/eventmall/order/v1/events_pb";
import { EventCodec } from "../kernel/event-codec";
import type { ProjectedEvent, Projection } from "../kernel/projector";
import type { ReadTx } from "../kernel/read-db";
import { ORDER_CATEGORY, type OrderStatus } from "./decider";
import { eventJson } from "./event-json";

const ORDER_STREAM_PREFIX = `${ORDER_CATEGORY}-`;

const codec = new EventCodec([OrderPlacedSchema, OrderConfirmedSchema, OrderRejectedSchema, OrderCancelledSchema, OrderShippedSchema]);

const STATUS_AFTER: Record<string, OrderStatus> = {
  [OrderConfirmedSchema.typeName]: "confirmed",
  [OrderRejectedSchema.typeName]: "rejected",
  [OrderCancelledSchema.typeName]: "cancelled",
  [OrderShippedSchema.typeName]: "shipped",
};

export const orderProjection: Projection = {
  name: "order",
  filter: { streamPrefixes: [ORDER_STREAM_PREFIX] },
  // Parent first: replacing "order" cascades to its lines, then the lines are replaced.
  tables: ["order", "order_line"],
  async apply(tx, event) {
    if (!event.streamId.startsWith(ORDER_STREAM_PREFIX) || !codec.knows(event.type)) return;
    const orderId = event.streamId.slice(ORDER_STREAM_PREFIX.length);
    const message = codec.decode(event.type, eventJson(event)).message as { orderId: string };
    if (message.orderId !== orderId) throw new Error(`event names order "${message.orderId}" but sits in stream ${event.streamId}`);
    if (event.type === OrderPlacedSchema.typeName) return placed(tx, event, message as OrderPlaced);
    const status = STATUS_AFTER[event.type]!;
    const rejection = event.type === OrderRejectedSchema.typeName ? (message as OrderRejected) : undefined;
    const at = eventTime(message, event);
    const row = await tx.order.findUnique({ where: { id: orderId }, select: { revision: true } });
    if (!row) throw new Error(`order ${orderId} is not in the read model yet (${event.type} at revision ${event.revision})`);
    // A retried event older than what the row shows must not roll the status back.
    if (event.revision <= row.revision) return;
    await tx.order.update({
      where: { id: orderId },
      data: {
        status,
        updatedAt: at,
        revision: event.revision,
        ...(rejection ? { rejectReason: rejection.reason, rejectedLine: rejection.line } : {}),
      },
    });
  },
};

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

function eventTime(message: object, event: ProjectedEvent): Date {
  const m = message as { confirmedAt?: Timestamp; rejectedAt?: Timestamp; cancelledAt?: Timestamp; shippedAt?: Timestamp };
  const at = m.confirmedAt ?? m.rejectedAt ?? m.cancelledAt ?? m.shippedAt;
  return at ? timestampDate(at) : event.created;
}
