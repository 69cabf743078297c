// `npm run example:shipping`: a tiny shipping service consuming eventmall's OrderConfirmed from
// NATS JetStream. NATS_URL, PUBLISHER_STREAM and PUBLISHER_SUBJECT_PREFIX as for the publisher;
// SHIPPING_DURABLE names its durable consumer; processed ids are kept in SHIPPING_STATE_FILE.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { consumeConfirmedOrders } from "./consumer";

const url = process.env.NATS_URL || "nats://127.0.0.1:4222";
const stream = process.env.PUBLISHER_STREAM || "EVENTMALL";
const subjectPrefix = process.env.PUBLISHER_SUBJECT_PREFIX || "eventmall";
const durable = process.env.SHIPPING_DURABLE || "shipping";
const stateFile = process.env.SHIPPING_STATE_FILE || "shipping-processed.txt";

// The ids this service has handled, one per line: a real service keeps them in its own database,
// in the same transaction as the effect of handling the message.
const seen = new Set(existsSync(stateFile) ? readFileSync(stateFile, "utf8").split("\n").filter(Boolean) : []);
const nc = await connect({ servers: url.split(","), name: "shipping-example" });
const stop = new AbortController();
process.once("SIGINT", () => stop.abort());
process.once("SIGTERM", () => stop.abort());
console.log(`shipping: consuming ${subjectPrefix}.order.OrderConfirmed from stream ${stream} as durable "${durable}" (Ctrl-C stops)`);
await consumeConfirmedOrders(
  {
    nc,
    stream,
    subjectPrefix,
    durable,
    processed: {
      has: async (id) => seen.has(id),
      add: async (id) => {
        seen.add(id);
        appendFileSync(stateFile, `${id}\n`);
      },
    },
    async ship(order, id) {
      const units = order.lines.reduce((sum, line) => sum + line.quantity, 0n);
      console.log(`shipping order ${order.orderId} for member ${order.memberId}: ${order.lines.length} lines, ${units} units, total ${order.total} (message ${id})`);
    },
    log: (line) => console.log(`shipping: ${line}`),
  },
  stop.signal,
);
await nc.drain();
