// The two official clients side by side against the embedded store: @eventstore/db-client (what the
// services use) and its maintained successor @kurrent/kurrentdb-client. `npm run bench:clients`
// (--quick for a smoke run; --rounds N, --appends N, --stream-events N, --all-events N,
// --persistent-events N) → bench/results/clients.md.
//
// One store process, seeded once; each round runs both clients, each in a child process of its own
// (they cannot share one), in alternating order so drift of the shared host hits both alike. The
// report gives per-client medians over the rounds and the host-speed line of the other benchmarks.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { EventStoreDBClient, jsonEvent } from "@eventstore/db-client";
import { DURABILITY } from "../services/eventstore/sqlite-store";
import { CLIENT_PACKAGES, type ClientPackage, type ClientResult, type ClientWork, type Timing } from "./lib/client-work";
import { gitRevision, hostSpeedMs, loadAverage, machineDescription } from "./lib/machine";
import { killAllStarted, startEventStoreProcess, startScriptProcess } from "./lib/processes";

const ROOT = path.resolve(import.meta.dirname, "..");
const SEED_BATCH = 500;
const SEED_STREAMS = 1000;

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    appends: { type: "string" },
    "stream-events": { type: "string" },
    "all-events": { type: "string" },
    "persistent-events": { type: "string" },
    out: { type: "string", default: "bench/results/clients.md" },
  },
});
const size = (name: keyof typeof flags, full: number, quick: number) => Number(flags[name] ?? (flags.quick ? quick : full));
const ROUNDS = size("rounds", 3, 2);
const APPENDS = size("appends", 2000, 200);
const STREAM_EVENTS = size("stream-events", 10_000, 1000);
const ALL_EVENTS = size("all-events", 100_000, 5000);
const PERSISTENT_EVENTS = size("persistent-events", 10_000, 1000);
const IN_FLIGHT = [1, 32];

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

async function appendMany(client: EventStoreDBClient, stream: (n: number) => string, count: number): Promise<void> {
  for (let i = 0; i < count; i += SEED_BATCH) {
    const events = Array.from({ length: Math.min(SEED_BATCH, count - i) }, (_, k) =>
      jsonEvent({ type: "OrderPlaced", data: { orderId: `order-${i + k}`, amount: (i + k) % 1000, currency: "EUR" } }),
    );
    await client.appendToStream(stream(i), events);
  }
}

/** $all starts with ALL_EVENTS events (the catch-up's), then the read stream and the persistent one. */
async function seed(connectionString: string): Promise<void> {
  const client = EventStoreDBClient.connectionString(connectionString);
  try {
    await appendMany(client, (i) => `clients-all-${(i / SEED_BATCH) % SEED_STREAMS}`, ALL_EVENTS);
    await appendMany(client, () => "clients-read", STREAM_EVENTS);
    await appendMany(client, () => "clients-persistent", PERSISTENT_EVENTS);
  } finally {
    await client.dispose();
  }
}

async function runChild(pkg: ClientPackage, work: ClientWork): Promise<ClientResult> {
  const started = await startScriptProcess(`client ${pkg}`, "bench/lib/client-child.ts", [pkg, JSON.stringify(work)], {}, /^RESULT (.*)$/, {
    timeoutMs: 20 * 60_000,
  });
  await started.stop();
  return JSON.parse(started.match[1]!) as ClientResult;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
}

interface Metric {
  label: string;
  value: (result: ClientResult) => number;
  digits: number;
  /** Whether a larger figure is better (throughput) or worse (time, CPU). */
  higherIsBetter?: boolean;
}

function timingMetrics(label: string, pick: (result: ClientResult) => Timing, perEvents: number): Metric[] {
  return [
    { label: `${label}: wall ms`, value: (r) => pick(r).wallMs, digits: 0 },
    { label: `${label}: client CPU ms`, value: (r) => pick(r).clientCpuMs, digits: 0 },
    { label: `${label}: store CPU ms`, value: (r) => pick(r).storeCpuMs, digits: 0 },
    { label: `${label}: events/s`, value: (r) => (perEvents * 1000) / pick(r).wallMs, digits: 0, higherIsBetter: true },
  ];
}

function metrics(): Metric[] {
  const appendRows = IN_FLIGHT.flatMap((inFlight): Metric[] => {
    const pick = (r: ClientResult) => r.appends[String(inFlight)]!;
    const label = `Appends, ${inFlight} in flight`;
    return [
      { label: `${label}: appends/s`, value: (r) => pick(r).perSecond, digits: 0, higherIsBetter: true },
      { label: `${label}: latency p50 ms`, value: (r) => pick(r).p50Ms, digits: 2 },
      { label: `${label}: latency p99 ms`, value: (r) => pick(r).p99Ms, digits: 2 },
      { label: `${label}: client CPU µs per append`, value: (r) => (pick(r).clientCpuMs * 1000) / APPENDS, digits: 0 },
      { label: `${label}: store CPU µs per append`, value: (r) => (pick(r).storeCpuMs * 1000) / APPENDS, digits: 0 },
    ];
  });
  return [
    ...appendRows,
    ...timingMetrics(`Read one ${STREAM_EVENTS.toLocaleString("en")}-event stream`, (r) => r.readStream, STREAM_EVENTS),
    ...timingMetrics(`Catch-up subscription over ${ALL_EVENTS.toLocaleString("en")} events of $all`, (r) => r.catchUpAll, ALL_EVENTS),
    ...timingMetrics(`Persistent subscription, ${PERSISTENT_EVENTS.toLocaleString("en")} events delivered and acked`, (r) => r.persistent, PERSISTENT_EVENTS),
  ];
}

function report(results: Record<ClientPackage, ClientResult[]>, facts: { startedAt: string; seconds: number; speed: [number, number]; load: [string, string] }): string {
  const [oldPkg, newPkg] = CLIENT_PACKAGES;
  const rows = metrics().map((metric) => {
    const cells = CLIENT_PACKAGES.map((pkg) => {
      const values = results[pkg].map(metric.value);
      return { median: median(values), range: `${Math.min(...values).toFixed(metric.digits)}–${Math.max(...values).toFixed(metric.digits)}` };
    });
    const [before, after] = cells as [(typeof cells)[0], (typeof cells)[0]];
    const ratio = after.median / before.median;
    return `| ${metric.label} | ${before.median.toFixed(metric.digits)} (${before.range}) | ${after.median.toFixed(metric.digits)} (${after.range}) | ${ratio.toFixed(2)}× | ${metric.higherIsBetter ? "higher" : "lower"} |`;
  });
  const argv = process.argv.slice(2).join(" ");
  return `# Official clients against the embedded store

Command: \`npm run bench:clients${argv ? ` -- ${argv}` : ""}\` — ${facts.startedAt}, commit ${gitRevision()}, ${facts.seconds.toFixed(0)} s.

**Machine:** ${machineDescription().join("; ")}. Node ${process.version}. Load average (1, 5, 15 min) at start: ${facts.load[0]}; at end: ${facts.load[1]}. Host speed (a fixed single-threaded workload, bench/lib/machine.ts hostSpeedMs; lower is faster): ${facts.speed[0].toFixed(0)} ms at start, ${facts.speed[1].toFixed(0)} ms at end.

**Clients:** ${oldPkg} ${packageVersion(oldPkg)} (the services' client) and ${newPkg} ${packageVersion(newPkg)}; each runs in a child process of its own (they cannot share one), ${ROUNDS} rounds, the order alternating per round. Figures are medians over the rounds (range in brackets); the ratio is new ÷ old.

**Store:** the embedded store (\`services/eventstore\`) as its own process on a temporary data file (${DURABILITY}), seeded once: ${ALL_EVENTS.toLocaleString("en")} events over ${SEED_STREAMS} streams (the first ${ALL_EVENTS.toLocaleString("en")} of $all), then the ${STREAM_EVENTS.toLocaleString("en")}-event stream the reads use and the ${PERSISTENT_EVENTS.toLocaleString("en")}-event stream the persistent groups use. Store CPU comes from /proc in 10 ms ticks.

**Work, the same for both:** ${APPENDS.toLocaleString("en")} single-event appends (default expected revision ANY, over 100 streams) at 1 and at 32 in flight, after a warm-up; reading the ${STREAM_EVENTS.toLocaleString("en")}-event stream forwards (median of 5 reads after one warm-up read); a catch-up subscription to $all from the start until ${ALL_EVENTS.toLocaleString("en")} events arrived; a new persistent-subscription group on the ${PERSISTENT_EVENTS.toLocaleString("en")}-event stream from the start (buffer 100), each event acked, until all arrived. Client CPU is the child process's (all its threads, including the new client's Rust bridge); store CPU is the store process's over the same interval.

| Measure | ${oldPkg} | ${newPkg} | new ÷ old | better |
|---|---|---|---|---|
${rows.join("\n")}
`;
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const began = performance.now();
  const load0 = loadAverage();
  const speed0 = hostSpeedMs();
  const dir = mkdtempSync(path.join(tmpdir(), "bench-clients-"));
  const store = await startEventStoreProcess(path.join(dir, "store.db"));
  try {
    await seed(store.connectionString);
    const work: ClientWork = {
      connectionString: store.connectionString,
      storePid: store.child.pid!,
      appends: APPENDS,
      appendsWarmup: Math.max(50, Math.floor(APPENDS / 10)),
      inFlight: IN_FLIGHT,
      readStream: "clients-read",
      readStreamEvents: STREAM_EVENTS,
      readRepeats: 5,
      allEvents: ALL_EVENTS,
      persistentStream: "clients-persistent",
      persistentEvents: PERSISTENT_EVENTS,
    };
    const results = { [CLIENT_PACKAGES[0]]: [], [CLIENT_PACKAGES[1]]: [] } as Record<ClientPackage, ClientResult[]>;
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? CLIENT_PACKAGES : ([...CLIENT_PACKAGES].reverse() as ClientPackage[]);
      for (const pkg of order) {
        process.stdout.write(`round ${round + 1}/${ROUNDS}: ${pkg}\n`);
        results[pkg].push(await runChild(pkg, work));
      }
    }
    const document = report(results, {
      startedAt,
      seconds: (performance.now() - began) / 1000,
      speed: [speed0, hostSpeedMs()],
      load: [load0, loadAverage()],
    });
    const out = path.resolve(ROOT, flags.out!);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, document);
    process.stdout.write(`${document}\nwritten to ${path.relative(ROOT, out)}\n`);
  } finally {
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  killAllStarted();
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
