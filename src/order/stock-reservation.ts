// The stock reservation process manager. On OrderPlaced it reserves each line's stock on its
// product, then confirms the order; when a line cannot be reserved it releases every line and
// rejects the order. On OrderCancelled or OrderRejected it releases every line. Every step is
// idempotent in the aggregates (one reservation per order line, releases only of what is held,
// order transitions that repeat are no-ops), so a redelivered event changes nothing twice.
import {
  OrderCancelledSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
  type OrderPlaced,
} from "../../gen/eventmall/order/v1/events_pb";
import { DomainRuleViolation } from "../kernel/write/decider";
import { EventCodec, readMetadata, type EventMetadata } from "../kernel/write/event-codec";
import { eventJson, type ProjectedEvent, type Reactor } from "../kernel/read/projector";
import type { AggregateRepository } from "../kernel/write/repository";
import type { ProductCommand, ProductEvent, ProductState } from "../product/decider";
import { OrderStream, type OrderCommand, type OrderEvent, type OrderState } from "./decider";

export type OrderRepository = AggregateRepository<OrderState, OrderCommand, OrderEvent>;
export type ProductRepository = AggregateRepository<ProductState, ProductCommand, ProductEvent>;

export interface StockReservationDependencies {
  orders: OrderRepository;
  products: ProductRepository;
  clock?: () => Date;
}

const codec = new EventCodec([OrderPlacedSchema, OrderRejectedSchema, OrderCancelledSchema]);

interface Line {
  line: number;
  productId: string;
  quantity: bigint;
}

export function stockReservation(deps: StockReservationDependencies): Reactor {
  const clock = deps.clock ?? (() => new Date());

  async function reserveAll(orderId: string, lines: readonly Line[], metadata: EventMetadata): Promise<void> {
    const order = await deps.orders.load(orderId);
    // Only a pending order takes stock: a redelivery after its outcome has nothing to do.
    if (!order.state.exists || order.state.status !== "placed") return;
    for (const line of lines) {
      try {
        const command: ProductCommand = { type: "ReserveStock", productId: line.productId, orderId, line: line.line, quantity: line.quantity, now: clock() };
        await deps.products.handle(line.productId, command, { metadata });
      } catch (error) {
        if (!(error instanceof DomainRuleViolation)) throw error;
        await releaseAll(orderId, lines, metadata);
        const reason = error.reason ?? (error.kind === "not_found" ? "PRODUCT_NOT_FOUND" : "INVALID_ORDER_LINE");
        await decideOrder(orderId, { type: "RejectOrder", orderId, reason, line: line.line, detail: error.message, now: clock() }, metadata);
        return;
      }
    }
    const confirmed = await decideOrder(orderId, { type: "ConfirmOrder", orderId, now: clock() }, metadata);
    // Cancelled while the stock was being taken: give it back.
    if (!confirmed) await releaseAll(orderId, lines, metadata);
  }

  async function releaseAll(orderId: string, lines: readonly Line[], metadata: EventMetadata): Promise<void> {
    for (const line of lines) {
      const command: ProductCommand = { type: "ReleaseStock", productId: line.productId, orderId, line: line.line, now: clock() };
      try {
        await deps.products.handle(line.productId, command, { metadata });
      } catch (error) {
        // A product that does not exist holds nothing to release.
        if (!(error instanceof DomainRuleViolation && error.kind === "not_found")) throw error;
      }
    }
  }

  /** Runs an order transition; false when the order's state no longer allows it. */
  async function decideOrder(orderId: string, command: OrderCommand, metadata: EventMetadata): Promise<boolean> {
    try {
      await deps.orders.handle(orderId, command, { metadata });
      return true;
    } catch (error) {
      if (error instanceof DomainRuleViolation && error.kind === "failed_precondition") return false;
      throw error;
    }
  }

  async function linesOf(orderId: string): Promise<readonly Line[]> {
    const order = await deps.orders.load(orderId);
    return order.state.exists ? order.state.lines.map(({ line, productId, quantity }) => ({ line, productId, quantity })) : [];
  }

  return {
    kind: "reactor",
    name: "order-stock-reservation",
    filter: { streamPrefixes: [OrderStream.prefix] },
    async react(event: ProjectedEvent) {
      if (!event.streamId.startsWith(OrderStream.prefix) || !codec.knows(event.type)) return;
      const orderId = event.streamId.slice(OrderStream.prefix.length);
      const metadata = causedBy(event);
      switch (event.type) {
        case OrderPlacedSchema.typeName: {
          const placed = codec.decode(event.type, eventJson(event)).message as OrderPlaced;
          if (placed.orderId !== orderId) throw new Error(`event names order "${placed.orderId}" but sits in stream ${event.streamId}`);
          return reserveAll(orderId, placed.lines, metadata);
        }
        case OrderCancelledSchema.typeName:
        case OrderRejectedSchema.typeName:
          return releaseAll(orderId, await linesOf(orderId), metadata);
      }
    },
  };
}

/** The commands an event causes carry its flow's correlation id and the event's id as causation. */
function causedBy(event: ProjectedEvent): EventMetadata {
  const { correlationId } = readMetadata(event.metadata);
  return { correlationId: correlationId ?? event.id, causationId: event.id };
}
