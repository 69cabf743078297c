// A separate "shipping" service's side of the contract: a durable JetStream consumer of
// OrderConfirmed that acknowledges each message after handling it and deduplicates on the
// message id (Nats-Msg-Id = the source event's id), because JetStream delivers at least once:
// a message whose ack was lost comes again, and the publisher may re-publish after the
// duplicate window. It needs nothing of eventmall but the proto contract.
import { fromBinary } from "@bufbuild/protobuf";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { OrderConfirmedSchema, type OrderConfirmed } from "../../gen/eventmall/integration/v1/events_pb";

export interface ProcessedIds {
  has(id: string): Promise<boolean>;
  add(id: string): Promise<void>;
}

export interface ShippingOptions {
  nc: NatsConnection;
  stream: string;
  subjectPrefix: string;
  /** Durable consumer name: JetStream remembers what this service acknowledged across restarts. */
  durable: string;
  processed: ProcessedIds;
  ship(order: OrderConfirmed, messageId: string): Promise<void>;
  log?: (line: string) => void;
  /** How long JetStream waits for an ack before redelivering (default 30 s). */
  ackWaitMs?: number;
}

/** Consumes until `signal` aborts; resolves when stopped. */
export async function consumeConfirmedOrders(options: ShippingOptions, signal: AbortSignal): Promise<void> {
  const { nc, stream, durable, processed } = options;
  const subject = `${options.subjectPrefix}.order.OrderConfirmed`;
  const jsm = await jetstreamManager(nc);
  // Created once, then reused: the server keeps its position (add is idempotent for the same config).
  await jsm.consumers.add(stream, { durable_name: durable, filter_subject: subject, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: (options.ackWaitMs ?? 30_000) * 1_000_000 });
  const consumer = await jetstream(nc).consumers.get(stream, durable);
  const messages = await consumer.consume({ max_messages: 100 });
  signal.addEventListener("abort", () => void messages.close());
  try {
    for await (const m of messages) {
      const id = m.headers?.get("Nats-Msg-Id") ?? `${stream}:${m.seq}`;
      if (await processed.has(id)) {
        options.log?.(`duplicate ${id}: already shipped, acknowledging again`);
        m.ack();
        continue;
      }
      const order = fromBinary(OrderConfirmedSchema, m.data);
      await options.ship(order, id);
      await processed.add(id);
      m.ack();
    }
  } finally {
    await messages.close();
  }
}
