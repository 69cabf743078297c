// `npm run projections -- <command>`: operations on the projector's read models.
//   status          a table per projection: position, lag (events, ms), parked count, state
//   rebuild NAME    blue/green rebuild of one projection (progress bar on a terminal)
//   verify NAME|--all  builds a scratch copy from $all and compares it with the live tables row by
//                   row; prints the differences and exits 1 when there are any
//   list            the projections and their tables
// Settings come from the environment like every process (EVENTSTORE_CONNECTION_STRING, READ_DATABASE_URL).
import { SingleBar, Presets } from "cli-progress";
import type { CatchUpProgress } from "../src/kernel/read/catch-up";
import { loadConfig } from "../src/kernel/process/config";
import { infrastructureReason, isInfrastructureError } from "../src/kernel/process/infrastructure-errors";
import { createEventStoreClient } from "../src/kernel/write/event-store";
import { readProjectionStatus } from "../src/kernel/read/projection-status";
import { openReadDb } from "../src/kernel/read/read-db";
import { rebuildProjection } from "../src/kernel/read/rebuild";
import { verifyProjection } from "../src/kernel/read/verify";
import { projections } from "../services/projector/projections";
import { publisherStatusLine } from "../services/publisher/status-line";

const USAGE = "usage: npm run projections -- status | list | rebuild <name> | verify <name>|--all";

async function main(args: string[]): Promise<number> {
  const [command, name] = args;
  switch (command) {
    case "status":
      return status();
    case "list":
      for (const p of projections) console.log(`${p.name}\tbuild=${p.build ?? "live"}\ttables=${(p.tables ?? []).join(",") || "(none declared)"}`);
      return 0;
    case "rebuild":
      if (!name) return usage("rebuild needs a projection name");
      return rebuild(name);
    case "verify":
      if (!name) return usage("verify needs a projection name or --all");
      return verify(name === "--all" ? projections.map((p) => p.name) : [name]);
    default:
      return usage(command ? `unknown command "${command}"` : "no command given");
  }
}

function usage(problem: string): number {
  console.error(`${problem}\n${USAGE}\nprojections: ${projections.map((p) => p.name).join(", ")}`);
  return 2;
}

async function status(): Promise<number> {
  const config = loadConfig();
  const client = createEventStoreClient(config);
  const db = await openReadDb(config.readDatabaseUrl);
  try {
    let reports;
    try {
      reports = await readProjectionStatus({ db, client, projections });
    } catch (error) {
      if (!isInfrastructureError(error)) throw error;
      // The status rows live in the read database: while it is down the projections are waiting
      // (the projector's health and projection_waiting gauge say so); say it plainly here too.
      console.error(`read database unreachable (${infrastructureReason(error)}): every projection is waiting with its position kept; see the projector's health or /metrics`);
      return 1;
    }
    const rows = reports.map((r) => ({
      projection: r.name,
      state: r.state.replace("_", " "),
      position: r.checkpoint === undefined ? "-" : r.checkpoint.toString(),
      "lag (events)": `${r.lagCapped ? "≥" : ""}${r.lagEvents}`,
      "lag (ms)": String(r.lagMs),
      parked: r.parkedCount.toString(),
      "last report": r.updatedAt?.toISOString() ?? "never",
      detail: r.detail,
    }));
    printTable(rows);
    console.log(await publisherStatusLine(config, client));
    return 0;
  } finally {
    await client.dispose();
    await db.$disconnect();
  }
}

function printTable(rows: Record<string, string>[]): void {
  if (rows.length === 0) return void console.log("no projections");
  const columns = Object.keys(rows[0]!);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  console.log(line(columns));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(columns.map((c) => row[c]!)));
}

async function rebuild(name: string): Promise<number> {
  const projection = projections.find((p) => p.name === name);
  if (!projection) return usage(`no projection named "${name}"`);
  const config = loadConfig();
  const client = createEventStoreClient(config);
  const progress = progressReporter();
  const started = Date.now();
  try {
    const result = await rebuildProjection({
      client,
      liveUrl: config.readDatabaseUrl,
      connectionString: config.eventStore.connectionString,
      projection,
      onProgress: progress.update,
      onFailedEvent: (event, error) => progress.note(`event at ${event.position.commit} (${event.type} in ${event.streamId}) failed: ${String(error)}; marked for retry`),
      onSwap: () => progress.finish("build pass done; swapping in the rebuilt read model"),
    });
    const seconds = (Date.now() - started) / 1000;
    const rows = Object.entries(result.rows).map(([table, count]) => `${table}: ${count} rows`).join(", ");
    console.log(
      `rebuilt ${name}: ${result.scanned} events read, ${result.applied + result.appliedAtSwap} applied (${result.appliedAtSwap} during the swap) in ${seconds.toFixed(1)} s; ` +
        `position ${result.checkpoint ?? "-"}; ${rows}`,
    );
    return 0;
  } finally {
    progress.finish();
    await client.dispose();
  }
}

async function verify(names: string[]): Promise<number> {
  const unknown = names.find((name) => !projections.some((p) => p.name === name));
  if (unknown) return usage(`no projection named "${unknown}"`);
  const config = loadConfig();
  const client = createEventStoreClient(config);
  let differing = 0;
  try {
    for (const name of names) {
      const projection = projections.find((p) => p.name === name)!;
      const result = await verifyProjection({ client, liveUrl: config.readDatabaseUrl, projection, connectionString: config.eventStore.connectionString });
      const rows = Object.entries(result.rows).map(([table, count]) => `${table}: ${count} rows`).join(", ");
      const at = result.position === undefined ? "before its first event" : `at position ${result.position}`;
      if (result.differences.length === 0) {
        console.log(`verified ${name} ${at}: no differences (${rows})`);
        continue;
      }
      differing++;
      console.log(`${name} ${at} DIFFERS from a build from the events (${rows}):`);
      for (const d of result.differences) {
        console.log(`  ${d.table}: ${d.onlyLive} rows only in the live model (wrong or extra), ${d.onlyRebuilt} rows only in the rebuilt one (missing or stale)`);
        for (const row of d.sampleOnlyLive) console.log(`    live:    ${json(row)}`);
        for (const row of d.sampleOnlyRebuilt) console.log(`    rebuilt: ${json(row)}`);
      }
      console.log(`  repair: npm run projections -- rebuild ${name}`);
    }
    return differing === 0 ? 0 : 1;
  } finally {
    await client.dispose();
  }
}

const json = (row: Record<string, unknown>) => JSON.stringify(row, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));

/** A cli-progress bar on a terminal; plain lines (every 2 s) otherwise, e.g. in CI logs. */
function progressReporter() {
  const started = Date.now();
  const rate = (p: CatchUpProgress) => Math.round(p.scanned / Math.max(0.001, (Date.now() - started) / 1000));
  // $all positions are not event counts on every server: the total is estimated from how far the position got.
  const estimatedTotal = (p: CatchUpProgress) => (p.position > 0n && p.head > p.position ? Math.round((p.scanned * Number(p.head)) / Number(p.position)) : p.scanned);
  if (process.stdout.isTTY) {
    const bar = new SingleBar(
      { format: "rebuild |{bar}| {percentage}% | {value}/{total} events | {rate} events/s | ETA {eta_formatted}", etaBuffer: 50, hideCursor: true },
      Presets.shades_classic,
    );
    let started = false;
    let done = false;
    return {
      update(p: CatchUpProgress) {
        const total = estimatedTotal(p);
        if (!started) bar.start(total, 0, { rate: 0 });
        started = true;
        bar.setTotal(total);
        bar.update(p.scanned, { rate: rate(p) });
      },
      note: (text: string) => void process.stdout.write(`\n${text}\n`),
      finish(text?: string) {
        if (started && !done) bar.stop();
        done = true;
        if (text) console.log(text);
      },
    };
  }
  let lastLine = 0;
  let finished = false;
  return {
    update(p: CatchUpProgress) {
      if (Date.now() - lastLine < 2_000) return;
      lastLine = Date.now();
      const total = estimatedTotal(p);
      const eta = total > p.scanned ? Math.round((total - p.scanned) / Math.max(1, rate(p))) : 0;
      console.log(`rebuild: ${p.scanned}/${total} events, ${p.applied} applied, ${rate(p)} events/s, ETA ${eta} s`);
    },
    note: (text: string) => console.log(text),
    finish(text?: string) {
      if (text && !finished) console.log(text);
      finished = true;
    },
  };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`projections: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
