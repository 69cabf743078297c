// The shipping consumer example against the real nats-server: each confirmed order shipped once,
// even when a message comes again because its ack was lost.
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { jetstream } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { OrderConfirmedSchema } from "../../gen/eventmall/integration/v1/events_pb";
import { consumeConfirmedOrders, type ShippingOptions } from "../../examples/shipping/consumer";
import { jetStreamFixture, type JetStreamFixture } from "./fixtures";

let fixture: JetStreamFixture | undefined;
afterEach(async () => {
  await fixture?.dispose();
  fixture = undefined;
});

describe("shipping consumer example", () => {
  it("ships each OrderConfirmed once and acknowledges a redelivery of one it already handled", async () => {
    fixture = await jetStreamFixture();
    const f = fixture;
    await f.jsm.streams.add({ name: f.stream, subjects: [`${f.subjectPrefix}.>`] });
    const js = jetstream(f.nc);
    const orderIds = [randomUUID(), randomUUID()];
    for (const orderId of orderIds) {
      const h = headers();
      await js.publish(`${f.subjectPrefix}.order.OrderConfirmed`, toBinary(OrderConfirmedSchema, create(OrderConfirmedSchema, { orderId, total: 100n })), { msgID: randomUUID(), headers: h });
    }
    await js.publish(`${f.subjectPrefix}.order.OrderPlaced`, new Uint8Array([1, 2, 3]), { msgID: randomUUID() }); // not for shipping

    const seen = new Set<string>();
    const shipped: string[] = [];
    let crashOnce = true;
    const options = (stop: AbortController): ShippingOptions => ({
      nc: f.nc,
      stream: f.stream,
      subjectPrefix: f.subjectPrefix,
      durable: "shipping-test",
      ackWaitMs: 1_000,
      processed: {
        has: async (id) => seen.has(id),
        add: async (id) => {
          seen.add(id);
          // The first message's effect is recorded, then the process "dies" before it acknowledges.
          if (crashOnce) {
            crashOnce = false;
            throw new Error("crash before ack");
          }
          if (seen.size === orderIds.length) setTimeout(() => stop.abort(), 1_500);
        },
      },
      ship: async (order) => void shipped.push(order.orderId),
    });
    const first = new AbortController();
    await expect(consumeConfirmedOrders(options(first), first.signal)).rejects.toThrow("crash before ack");
    const second = new AbortController();
    await consumeConfirmedOrders(options(second), second.signal);

    expect(shipped.sort()).toEqual([...orderIds].sort());
    const info = await f.jsm.consumers.info(f.stream, "shipping-test");
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
  });
});
