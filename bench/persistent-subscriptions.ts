// Benchmark of persistent subscriptions in the embedded store, through the official client:
// delivery throughput and CPU per event (store and client) for a stream group, a filtered $all
// group and two competing consumers, next to a plain catch-up subscription over the same events
// (no acks: the reference). `npm run bench:persistent`; stops by itself.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { processCpuMillis, startEventStoreProcess } from "./lib/processes";
import {
  EventStoreDBClient,
  START,
  jsonEvent,
  persistentSubscriptionToAllSettingsFromDefaults,
  persistentSubscriptionToStreamSettingsFromDefaults,
  streamNameFilter,
} from "@eventstore/db-client";

const ROOT = path.resolve(import.meta.dirname, "..");
const EVENTS = 20_000;
const BATCH = 500;
const BUFFER_SIZE = 100;

interface Row {
  measure: string;
  value: string;
  note?: string;
}

interface Measured {
  perSecond: number;
  storeMicrosPerEvent: number;
  clientMicrosPerEvent: number;
}

/** Runs `consume` (which resolves once `total` events were handled) and measures it. */
async function measure(storePid: number, total: number, consume: () => Promise<void>): Promise<Measured> {
  const storeBefore = processCpuMillis(storePid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  await consume();
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  return {
    perSecond: total / seconds,
    storeMicrosPerEvent: ((processCpuMillis(storePid) - storeBefore) * 1000) / total,
    clientMicrosPerEvent: (client.user + client.system) / total,
  };
}

type AckingSubscription = NodeJS.EventEmitter & { ack(...events: unknown[]): Promise<void>; unsubscribe(): Promise<void> };

/** Each consumer acks every event it gets; resolves when `total` were acked across all of them. */
function consumeAll(subscriptions: AckingSubscription[], total: number): Promise<void> {
  let count = 0;
  return new Promise((resolve, reject) => {
    for (const subscription of subscriptions) {
      subscription.on("error", reject);
      subscription.on("data", (event) => {
        void subscription.ack(event);
        if (++count === total) {
          for (const each of subscriptions) void each.unsubscribe();
          resolve();
        }
      });
    }
  });
}

async function appendEvents(client: EventStoreDBClient, stream: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += BATCH) {
    const events = Array.from({ length: Math.min(BATCH, count - i) }, (_, k) =>
      jsonEvent({ type: "OrderPlaced", data: { orderId: `order-${i + k}`, amount: (i + k) % 1000, currency: "EUR" } }),
    );
    await client.appendToStream(stream, events);
  }
}

const row = (measure: string, result: Measured, note?: string): Row[] => [
  { measure: `${measure}: events/s`, value: result.perSecond.toFixed(0), note },
  { measure: "  CPU per event, store / client (µs)", value: `${result.storeMicrosPerEvent.toFixed(0)} / ${result.clientMicrosPerEvent.toFixed(0)}` },
];

async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const dir = mkdtempSync(path.join(tmpdir(), "eventmall-bench-ps-"));
  const store = await startEventStoreProcess(path.join(dir, "store.db"));
  const { child, connectionString } = store;
  const client = EventStoreDBClient.connectionString(connectionString);
  const rows: Row[] = [];
  try {
    await appendEvents(client, "bench-orders", EVENTS);
    await appendEvents(client, "noise-events", EVENTS);
    const pid = child.pid!;

    const catchUp = await measure(pid, EVENTS, async () => {
      let count = 0;
      for await (const _ of client.subscribeToStream("bench-orders", { fromRevision: START })) if (++count === EVENTS) break;
    });
    rows.push(...row(`catch-up subscription to a ${EVENTS}-event stream (reference, no acks)`, catchUp));

    const settings = persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START });
    await client.createPersistentSubscriptionToStream("bench-orders", "single", settings);
    const single = await measure(pid, EVENTS, () =>
      consumeAll([client.subscribeToPersistentSubscriptionToStream("bench-orders", "single", { bufferSize: BUFFER_SIZE })], EVENTS),
    );
    rows.push(...row("stream group, 1 consumer, ack each", single, `${((single.perSecond / catchUp.perSecond) * 100).toFixed(0)}% of catch-up`));

    await client.createPersistentSubscriptionToStream("bench-orders", "pair", settings);
    const pair = await measure(pid, EVENTS, () =>
      consumeAll(
        [1, 2].map(() => client.subscribeToPersistentSubscriptionToStream("bench-orders", "pair", { bufferSize: BUFFER_SIZE })),
        EVENTS,
      ),
    );
    rows.push(...row("stream group, 2 consumers (round robin), ack each", pair));

    await client.createPersistentSubscriptionToAll("filtered", persistentSubscriptionToAllSettingsFromDefaults({ startFrom: START }), {
      filter: streamNameFilter({ prefixes: ["bench-"] }),
    });
    const filtered = await measure(pid, EVENTS, () =>
      consumeAll([client.subscribeToPersistentSubscriptionToAll("filtered", { bufferSize: BUFFER_SIZE })], EVENTS),
    );
    rows.push(...row(`$all group, stream-prefix filter matching ${EVENTS} of ${2 * EVENTS} events, ack each`, filtered));
  } finally {
    await client.dispose();
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  report(rows, loadBefore, loadavg()[0]!);
}

function report(rows: Row[], loadBefore: number, loadAfter: number): void {
  const cpu = cpus();
  const text = [
    "# Persistent subscriptions benchmark",
    "",
    `- date: ${new Date().toISOString()}`,
    `- machine: ${cpu.length} cores (nproc), ${cpu[0]?.model ?? "unknown cpu"}, node ${process.version}`,
    `- 1-minute load average: ${loadBefore.toFixed(2)} at start, ${loadAfter.toFixed(2)} at end (other work on this shared machine competes for the same cores)`,
    "- command: `npm run bench:persistent`",
    `- setup: store in its own process on a temp data file; client = @eventstore/db-client in the bench process; client bufferSize ${BUFFER_SIZE}; default group settings (readBatchSize 20, checkpoints every 10–1000 acks)`,
    "",
    "| measure | value | note |",
    "| --- | ---: | --- |",
    ...rows.map((entry) => `| ${entry.measure} | ${entry.value} | ${entry.note ?? ""} |`),
    "",
    "The machine is shared and small: events/s depend on the load; CPU per event and ratios measured in one run are the comparable figures.",
    "",
  ].join("\n");
  process.stdout.write(text);
  mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(path.join(ROOT, "bench/results/persistent-subscriptions.md"), text);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`benchmark failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
