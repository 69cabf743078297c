// One client's share of `npm run bench:clients`, in a process of its own: the two official clients
// cannot share one (both register the same google-protobuf names). Runs every workload against the
// store already seeded by the runner and prints one line, `RESULT {json}`, then exits.
//
//   node --import tsx bench/lib/client-child.ts <package> <json ClientWork>
//
// Only APIs both clients have under the same names are used (appends at the default ANY, readStream,
// subscribeToAll, persistent subscriptions to a stream), so both do exactly the same work.
import { randomUUID } from "node:crypto";
import { LatencyRecorder } from "./histogram";
import { CLIENT_PACKAGES, type ClientPackage, type ClientResult, type ClientWork, type Timing } from "./client-work";
import { processCpuMillis } from "./processes";

// Both packages' surfaces as far as this file uses them (the old client's types describe both).
type Module = typeof import("@eventstore/db-client");
type Client = import("@eventstore/db-client").EventStoreDBClient;

async function measure(storePid: number, work: () => Promise<void>): Promise<Timing> {
  const store = processCpuMillis(storePid);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, clientCpuMs: (used.user + used.system) / 1000, storeCpuMs: processCpuMillis(storePid) - store };
}

function median<T>(values: T[], key: (value: T) => number): T {
  return [...values].sort((a, b) => key(a) - key(b))[Math.floor(values.length / 2)]!;
}

async function appendAll(mod: Module, client: Client, total: number, inFlight: number, latency?: LatencyRecorder): Promise<void> {
  const prefix = `clients-append-${randomUUID().slice(0, 8)}`;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const n = next++;
      const event = mod.jsonEvent({ type: "OrderPlaced", data: { orderId: `order-${n}`, amount: n % 1000, currency: "EUR" } });
      const started = performance.now();
      await client.appendToStream(`${prefix}-${n % 100}`, event);
      latency?.recordMs(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

async function readStream(client: Client, stream: string, expected: number): Promise<void> {
  let count = 0;
  for await (const _ of client.readStream(stream)) count++;
  if (count !== expected) throw new Error(`read ${count} events of ${stream}, expected ${expected}`);
}

function catchUp(mod: Module, client: Client, total: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let count = 0;
    const subscription = client.subscribeToAll({ fromPosition: mod.START });
    subscription.on("error", reject);
    subscription.on("data", () => {
      if (++count === total) void subscription.unsubscribe().then(resolve, reject);
    });
  });
}

async function persistent(mod: Module, client: Client, stream: string, total: number): Promise<() => Promise<void>> {
  const group = `clients-${randomUUID().slice(0, 8)}`;
  await client.createPersistentSubscriptionToStream(stream, group, mod.persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: mod.START }));
  return () =>
    new Promise((resolve, reject) => {
      let count = 0;
      const subscription = client.subscribeToPersistentSubscriptionToStream(stream, group, { bufferSize: 100 });
      subscription.on("error", reject);
      subscription.on("data", (event) => {
        void subscription.ack(event);
        if (++count === total) void subscription.unsubscribe().then(resolve, reject);
      });
    });
}

async function run(pkg: ClientPackage, work: ClientWork): Promise<ClientResult> {
  const mod = (await import(pkg)) as Module & { KurrentDBClient?: Module["EventStoreDBClient"] };
  const Client = mod.KurrentDBClient ?? mod.EventStoreDBClient;
  // The new client warns on esdb:// (deprecated); kurrentdb:// means the same.
  const connectionString = mod.KurrentDBClient ? work.connectionString.replace(/^esdb:/, "kurrentdb:") : work.connectionString;
  const client = Client.connectionString(connectionString);
  try {
    const appends: ClientResult["appends"] = {};
    for (const inFlight of work.inFlight) {
      await appendAll(mod, client, work.appendsWarmup, inFlight);
      const latency = new LatencyRecorder();
      const timing = await measure(work.storePid, () => appendAll(mod, client, work.appends, inFlight, latency));
      const { p50Ms, p99Ms } = latency.summary();
      appends[String(inFlight)] = { ...timing, perSecond: (work.appends * 1000) / timing.wallMs, p50Ms, p99Ms };
    }
    await readStream(client, work.readStream, work.readStreamEvents);
    const reads: Timing[] = [];
    for (let i = 0; i < work.readRepeats; i++) reads.push(await measure(work.storePid, () => readStream(client, work.readStream, work.readStreamEvents)));
    const catchUpAll = await measure(work.storePid, () => catchUp(mod, client, work.allEvents));
    const deliver = await persistent(mod, client, work.persistentStream, work.persistentEvents);
    const delivered = await measure(work.storePid, deliver);
    return { appends, readStream: median(reads, (r) => r.wallMs), catchUpAll, persistent: delivered };
  } finally {
    await client.dispose();
  }
}

const [pkg, json] = process.argv.slice(2);
if (!CLIENT_PACKAGES.includes(pkg as ClientPackage) || !json) {
  process.stderr.write(`usage: client-child.ts <${CLIENT_PACKAGES.join("|")}> <json>\n`);
  process.exit(2);
}
run(pkg as ClientPackage, JSON.parse(json) as ClientWork).then(
  (result) => {
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
