// `npm run bench`: the seed's headline claims measured in one run and one process tree, with
// Emmett as the peer, printed as a table and written to BENCHMARKS.md. Stops by itself; removes
// its temp directory, stops the processes it started and drops its temporary PostgreSQL database.
// Sizes: bench/options.ts (flags or BENCH_* variables; --quick for a smoke run).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DURABILITY } from "../services/eventstore/sqlite-store";
import { gitRevision, hostSpeedMs, loadAverage, machineDescription, postgresVersion, versions } from "./lib/machine";
import { killAllStarted, startEventStoreProcess } from "./lib/processes";
import { consoleTable, markdownTable, type ResultRow } from "./lib/report";
import { commandLine, parseOptions, type BenchOptions } from "./options";
import { aggregateRows, commandRows, memberRows, peerRows } from "./rows";
import { runAggregateLoad, type AggregateLoadResult } from "./scenarios/aggregate-load";
import { runCommandLoad } from "./scenarios/commands";
import { runMembers } from "./scenarios/members";
import { runPeers } from "./scenarios/peer";

const repoRoot = path.resolve(import.meta.dirname, "..");
/** The run's temp directory, removed on exit however the run ends. */
let runDir: string | undefined;

async function section(rows: ResultRow[], id: string, name: string, work: () => Promise<ResultRow[]>): Promise<void> {
  const started = performance.now();
  process.stderr.write(`[bench] ${id}. ${name}…\n`);
  try {
    rows.push(...(await work()));
  } catch (error) {
    rows.push({ section: id, measure: name, value: "failed", note: error instanceof Error ? error.message.split("\n")[0] : String(error) });
  }
  process.stderr.write(`[bench] ${id}. done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

export async function runBench(options: BenchOptions, argv: string[]): Promise<ResultRow[]> {
  const startedAt = new Date();
  const loadAtStart = loadAverage();
  const speedAtStart = hostSpeedMs();
  const dir = mkdtempSync(path.join(tmpdir(), "eventmall-bench-run-"));
  runDir = dir;
  const rows: ResultRow[] = [];
  const started = performance.now();
  try {
    const store = await startEventStoreProcess(path.join(dir, "store.db"));
    try {
      let fullReplay: AggregateLoadResult["fullReplay"] | undefined;
      await section(rows, "1", "aggregate load: full replay vs snapshot + tail", async () => {
        const result = await runAggregateLoad({ connectionString: store.connectionString, events: options.events, tail: options.tail, loads: options.loads });
        fullReplay = result.fullReplay;
        return aggregateRows(result, options.loads);
      });
      await section(rows, "3", "commands end to end over gRPC", async () =>
        commandRows(
          await runCommandLoad({
            connectionString: store.connectionString,
            dataDir: dir,
            products: options.products,
            ratesPerSecond: options.rates,
            durationMs: options.commandSeconds * 1000,
            warmupMs: options.commandWarmup * 1000,
            saturationConcurrency: options.saturationConcurrency,
            storePid: store.child.pid,
            floorRatePerSecond: options.rates.includes(500) ? 500 : options.rates[0],
          }),
          options.commandSeconds,
          options.saturationConcurrency,
        ));
      await section(rows, "4", "append and rehydrate: eventmall vs Emmett", async () =>
        peerRows(
          await runPeers({
            connectionString: store.connectionString,
            dir,
            postgresUrl: options.postgresUrl,
            appends: options.appends,
            appendConcurrency: options.appendConcurrency,
            streams: 100,
            rehydrateEvents: options.events,
            rehydrateRuns: options.rehydrateRuns,
            eventmallRehydrate: fullReplay,
          }),
          options.appendConcurrency,
          options.events,
        ));
    } finally {
      await store.stop();
    }
    await section(rows, "2", "withdrawn in the last 7 days: read model vs aggregates", async () =>
      memberRows(await runMembers({ dir, members: options.members, withdrawnShare: options.withdrawnShare, replaySample: options.replaySample, queryRuns: options.queryRuns })));
  } finally {
    killAllStarted();
    rmSync(dir, { recursive: true, force: true });
  }
  rows.sort((a, b) => a.section.localeCompare(b.section));
  const seconds = (performance.now() - started) / 1000;
  const document = report(rows, options, { argv, startedAt, loadAtStart, loadAtEnd: loadAverage(), speedAtStart, speedAtEnd: hostSpeedMs(), seconds });
  writeFileSync(options.out, document);
  process.stdout.write(`${consoleTable(rows)}\n\nwritten to ${path.relative(process.cwd(), options.out) || options.out} in ${seconds.toFixed(0)} s\n`);
  return rows;
}

interface RunFacts {
  argv: string[];
  startedAt: Date;
  loadAtStart: string;
  loadAtEnd: string;
  /** hostSpeedMs() before and after the run. */
  speedAtStart: number;
  speedAtEnd: number;
  seconds: number;
}

function report(rows: ResultRow[], o: BenchOptions, facts: RunFacts): string {
  const missed = rows.filter((row) => row.met === false);
  const failed = rows.filter((row) => row.value === "failed");
  const scaled = [
    o.events < 10_000 ? `aggregate of ${o.events} events (issue: 10,000)` : "",
    o.loads < 50 ? `${o.loads} loads (issue: ≥ 50)` : "",
    o.members < 1_000_000 ? `${o.members} members (issue: 1,000,000)` : "",
  ].filter(Boolean);
  return `# Benchmarks

Generated by \`${commandLine(facts.argv)}\` (bench/run.ts) on ${facts.startedAt.toISOString()}, commit ${gitRevision()}, in ${facts.seconds.toFixed(0)} s.
${o.quick ? "\n**Smoke run (--quick): sizes far below the issue's; the figures mean nothing.**\n" : ""}
**Machine:** ${machineDescription().join("; ")}. Load average (1, 5, 15 min) at start: ${facts.loadAtStart}; at end: ${facts.loadAtEnd}. Host speed (a fixed single-threaded workload, bench/lib/machine.ts hostSpeedMs; lower is faster): ${facts.speedAtStart.toFixed(0)} ms at start, ${facts.speedAtEnd.toFixed(0)} ms at end.
The machine is shared: other work ran during the benchmark, so absolute figures are noisy and pessimistic. Ratios measured in the same run are the more trustworthy numbers.

**Versions:** ${versions()}; PostgreSQL: ${postgresVersion()}.

**Durability of the embedded store:** ${DURABILITY}. Emmett SQLite runs with sqlite3's defaults (WAL), Emmett PostgreSQL with the server's (synchronous_commit on).

**Sizes:** ${o.events} events per aggregate, ${o.tail}-event tail after the snapshot, ${o.loads} loads each; ${o.members.toLocaleString("en-US")} members (${o.withdrawnShare * 100}% withdrew over the year), ${o.replaySample} aggregates sampled, ${o.queryRuns} queries; ${o.products} products, offered loads ${o.rates.join(", ")}/s for ${o.commandSeconds} s each (after ${o.commandWarmup} s at the same rate, not counted), saturation with ${o.saturationConcurrency} callers; ${o.appends} appends per concurrency (${o.appendConcurrency.join(", ")} in flight) over 100 streams, ${o.rehydrateRuns} rehydrations.${scaled.length > 0 ? ` Scaled down from the issue: ${scaled.join("; ")}.` : " These are the issue's sizes."}

${markdownTable(rows)}

${missed.length + failed.length === 0 ? "Every target was met in this run." : `**Targets missed in this run:** ${[...missed, ...failed].map((row) => `${row.section}. ${row.measure} (${row.value})`).join("; ")}. Load average during the run was ${facts.loadAtStart} → ${facts.loadAtEnd} on ${machineDescription()[0]}; see "How to read" for what the figures include.`}

## How to read this

1. **Aggregate load.** One Product stream of ${o.events} decider-made events (created, then inventory increases) in the embedded store, running as its own process on a temp file, loaded with the real \`AggregateRepository\` (src/kernel/write/repository.ts) through \`@eventstore/db-client\` over gRPC (loopback). Full replay: a repository without a snapshot codec reads and folds every event. Snapshot: the repository itself wrote the snapshot during a real command, ${o.tail} events before the end (the mean tail with the shipped SNAPSHOT_EVERY of 20, a snapshot per 20 events); a load reads the snapshot stream's last event and the stream's last SNAPSHOT_EVERY events at the same time, as the services do, and applies the events after the snapshot; the row below it reads the snapshot first and then the events after it, one read after the other. Warm: a repository with a state cache (as the command service runs it) keeps the state it loaded and reads only the events after it. A read through the official client costs about 0.6–1.5 ms of client CPU on this machine plus 25–30 µs per event (grpc-js call setup, google-protobuf decoding, the client's event conversion), which is why the snapshot interval is short and the two reads overlap. Percentiles from an HDR histogram (hdr-histogram-js).
2. **Withdrawn in the last 7 days.** Seeding a million members through the command service would take hours here, so both sides are seeded in bulk: the read model's \`member\` table (Prisma's schema and migrations, SQLite) with multi-row inserts, and the store's SQLite file with each member's MemberRegistered (and MemberWithdrawn) event as the Member decider's contract encodes them; the store then serves that file. The read-model side runs the exact Prisma query of \`ListMembersWithdrawnSince\` (same filter, order, index), once for all matching rows and once for one page. The aggregate side loads sampled members one by one with \`AggregateRepository\` over gRPC and checks the withdrawal time (the Member aggregate keeps *whether*, not *when*, so the bench's definition folds the withdrawal time too; it skips the snapshot read, which only flatters the aggregate side). The full scan is the sample's mean × the member count: **extrapolated, not measured**; loading in parallel would divide it by at most the store's cores.
3. **Commands end to end.** This process → command service process (product context, admin bearer token minted with src/kernel/auth/auth.ts) → store process, all on this machine, so the load generator competes with both for the 2 cores. IncreaseInventory round-robin over ${o.products} products: a command decides on the repository's cached state and appends at its revision with optimistic concurrency (a stale state is a conflict, re-read and retried), so it is one store call; the load goes through a lean grpc-js client (bench/lib/grpc-unary.ts). Each offered load first runs ${o.commandWarmup} s at that rate, not counted: the first rate's warm-up row shows what an idle service does in its first seconds at a sudden load. The CPU row says what one command costs each process; their sum against the 2 cores bounds the throughput. Each fixed-rate row also counts the command service's garbage-collection pauses during the run (prom-client's nodejs_gc_duration_seconds from its /metrics). A command allocates on the order of 150 KB in that process (a sampling heap profile puts a third of it in connect-es's down-levelled async generators, then google-protobuf and the store client), and about a fifth of what it allocates outlives the next young-generation collection (\`--trace-gc-nvp\`: ~2.3 MB promoted per scavenge at 500/s), so each scavenge copies megabytes and pauses the service for several milliseconds, several times a second. An RPC that does nothing on a bare connect-node server shows the same promotion, a bare node:http2 server does not. connect-es ships code down-levelled to ES2017, so its async generators run on TypeScript's __asyncGenerator helpers (sync generators driven across awaits), and \`npm run bench:gc-survival\` (bench/results/gc-survival.md) compiles one loop both ways: with the helpers a fifth of what it allocates is promoted, with native async generators almost nothing. A connect-es build with native async generators should therefore remove most of it; that is inferred from the loop, not measured on connect-es, whose sources are not in its package (swapping only the helper's driver for a native one at load time, an experiment, took a bare connect-node server from ~3.0 to ~2.65 MB promoted per scavenge: the compiled sync-generator bodies remain). The two floor rows run the halves of a command's path on their own at the same rate: an RPC that does nothing on the command service (grpc.health.v1 Check: this load generator, HTTP/2 and connect-node), and an append straight to the store through \`@eventstore/db-client\` from this process; a command makes both trips in sequence, so its tail cannot be shorter than theirs. Open loop: sends follow a fixed schedule regardless of responses and latency counts from the scheduled send time (no coordinated omission); "done/s" below the offered rate means the service could not keep up. Saturation: closed loop, ${o.saturationConcurrency} callers.
4. **Emmett.** The same Product events appended one per call (round-robin over 100 streams) and the same ${o.events}-event stream rehydrated with the Product decider's evolve (eventmall's figure is benchmark 1's full replay), on @event-driven-io/emmett-sqlite (temp file) and @event-driven-io/emmett-postgresql (a temporary database on the local server, dropped afterwards). Emmett SQLite is used as \`getSQLiteEventStore({ fileName })\` gives it: a new sqlite3 connection per call; concurrent calls fail with SQLITE_BUSY, so the bench serializes them, and failures that remain are counted, not retried. Emmett runs inside the benchmark process as a library; eventmall's store is a separate process behind gRPC, so every eventmall figure includes a network round trip Emmett does not pay. Neither side uses snapshots here.
`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let options: BenchOptions;
  try {
    options = parseOptions(argv, process.env, path.join(repoRoot, "BENCHMARKS.md"));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const abort = (signal: NodeJS.Signals) => {
    killAllStarted();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
    process.stderr.write(`[bench] stopped by ${signal}\n`);
    process.exit(130);
  };
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);
  // Even a crash (e.g. an error event a library leaves unhandled) must not leave children behind.
  process.on("exit", killAllStarted);
  process.once("uncaughtException", (error) => {
    process.stderr.write(`[bench] crashed: ${error.stack ?? String(error)}\n`);
    if (runDir) rmSync(runDir, { recursive: true, force: true });
    process.exit(1);
  });
  // Sizes bound each benchmark; this bounds the whole run against anything that hangs.
  setTimeout(() => {
    process.stderr.write(`[bench] gave up after ${options.maxMinutes} minutes\n`);
    abort("SIGTERM");
  }, options.maxMinutes * 60_000).unref();
  const rows = await runBench(options, argv);
  process.exit(rows.some((row) => row.value === "failed") ? 1 : 0);
}

main().catch((error: unknown) => {
  killAllStarted();
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
