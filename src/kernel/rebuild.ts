// Blue/green rebuild of one projection. Its tables are built into a FRESH database (same
// migrations, same apply code, its own checkpoint) from the start of $all while the live read
// model keeps serving. Then one transaction on the live database swaps them in:
//   1. lock the projection's checkpoint row: the live projector takes the same lock first in
//      every apply transaction, so it waits (and afterwards sees the new checkpoint);
//   2. catch the fresh copy up with the events appended since the build pass;
//   3. replace the projection's tables, retry marks and checkpoint with the fresh copy's;
//   4. commit. Readers see the old model or the new one, never a half-built one.
import fs from "node:fs/promises";
import path from "node:path";
import type { EventStoreDBClient } from "@eventstore/db-client";
import { catchUp, type CatchUpProgress } from "./catch-up";
import { lockCheckpoint, readCheckpoint, type ProjectedEvent, type Projection } from "./projector-checkpoint";
import { migrateReadDb, openReadDb, type ReadDb, type ReadTx } from "./read-db";

export interface RebuildOptions {
  client: EventStoreDBClient;
  /** URL of the live read database (READ_DATABASE_URL). */
  liveUrl: string;
  projection: Projection;
  onProgress?: (progress: CatchUpProgress) => void;
  onFailedEvent?: (event: ProjectedEvent, error: unknown) => void;
  /** Called when the build pass is done and the swap starts. */
  onSwap?: () => void;
  /** Events per transaction in the build pass. */
  batchSize?: number;
}

export interface RebuildResult {
  scanned: number;
  applied: number;
  /** Events applied inside the swap transaction (appended while the build pass ran). */
  appliedAtSwap: number;
  /** Commit position the swapped-in model has applied up to (undefined: nothing to apply). */
  checkpoint?: bigint;
  rows: Record<string, number>;
}

/** Where the fresh copy lives and how the live database's connection reaches its tables. */
export interface FreshDatabase {
  url: string;
  /** Makes the fresh copy's tables visible to `live` (outside any transaction). */
  attach(live: ReadDb): Promise<void>;
  detach(live: ReadDb): Promise<void>;
  /** The fresh copy's table as the live connection names it. */
  table(name: string): string;
  /** Deletes the fresh copy. */
  drop(): Promise<void>;
}

const ATTACHED = "rebuild_copy";
const SWAP_TRANSACTION = { maxWait: 30_000, timeout: 600_000 };

export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { projection } = options;
  const tables = projection.tables ?? [];
  if (tables.length === 0) throw new Error(`projection ${projection.name} declares no tables: it cannot be rebuilt`);
  const fresh = freshDatabaseFor(options.liveUrl, projection.name);
  let freshDb: ReadDb | undefined;
  let liveDb: ReadDb | undefined;
  try {
    await migrateReadDb(fresh.url);
    freshDb = await openReadDb(fresh.url);
    // The copy is disposable until the swap: losing it to a crash costs a restart, not data.
    await freshDb.$queryRawUnsafe("PRAGMA synchronous = OFF");
    const build = { client: options.client, db: freshDb, projection, onFailure: "mark" as const, batchSize: options.batchSize, onFailedEvent: options.onFailedEvent };
    const pass = await catchUp({ ...build, onProgress: options.onProgress });

    options.onSwap?.();
    liveDb = await openReadDb(options.liveUrl);
    await fresh.attach(liveDb);
    const copyDb = freshDb;
    const swapped = await liveDb.$transaction(async (tx) => {
      await lockCheckpoint(tx, projection.name);
      const last = await catchUp(build);
      const checkpoint = await readCheckpoint(copyDb, projection.name);
      const rows: Record<string, number> = {};
      for (const table of tables) rows[table] = await replaceTable(tx, fresh, table);
      await tx.projectionRetry.deleteMany({ where: { projection: projection.name } });
      await tx.$executeRawUnsafe(`INSERT INTO projection_retry SELECT * FROM ${fresh.table("projection_retry")} WHERE projection = ?`, projection.name);
      await tx.projectionCheckpoint.deleteMany({ where: { name: projection.name } });
      if (checkpoint) {
        await tx.projectionCheckpoint.create({
          data: { name: projection.name, commitPosition: checkpoint.commit, preparePosition: checkpoint.prepare, updatedAt: new Date() },
        });
      }
      return { appliedAtSwap: last.applied, checkpoint: checkpoint?.commit, rows };
    }, SWAP_TRANSACTION);
    await fresh.detach(liveDb);
    return { scanned: pass.scanned, applied: pass.applied, ...swapped };
  } finally {
    await liveDb?.$disconnect();
    await freshDb?.$disconnect();
    await fresh.drop();
  }
}

async function replaceTable(tx: ReadTx, fresh: FreshDatabase, table: string): Promise<number> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new Error(`not a table name: "${table}"`);
  const columns = (await tx.$queryRawUnsafe<{ name: string }[]>(`PRAGMA main.table_info("${table}")`)).map((c) => `"${c.name}"`).join(", ");
  if (columns === "") throw new Error(`table ${table} does not exist in the read database`);
  await tx.$executeRawUnsafe(`DELETE FROM "${table}"`);
  return tx.$executeRawUnsafe(`INSERT INTO "${table}" (${columns}) SELECT ${columns} FROM ${fresh.table(table)}`);
}

/**
 * SQLite: a new file beside the live one, ATTACHed to the live connection for the swap.
 * (PostgreSQL would use a fresh schema in the same database: url with ?schema=, table()
 * qualified by it, attach/detach no-ops, drop = DROP SCHEMA … CASCADE.)
 */
export function freshDatabaseFor(liveUrl: string, projectionName: string): FreshDatabase {
  if (!liveUrl.startsWith("file:")) throw new Error("rebuilds support SQLite (file:) read databases only for now");
  const livePath = path.resolve(liveUrl.slice("file:".length).split("?")[0]!);
  const safeName = projectionName.replace(/[^A-Za-z0-9_-]/g, "_");
  const file = path.join(path.dirname(livePath), `${path.basename(livePath)}.rebuild-${safeName}-${process.pid}-${Date.now()}`);
  return {
    url: `file:${file}`,
    async attach(live) {
      await live.$executeRawUnsafe(`ATTACH DATABASE '${file.replaceAll("'", "''")}' AS ${ATTACHED}`);
    },
    async detach(live) {
      await live.$executeRawUnsafe(`DETACH DATABASE ${ATTACHED}`);
    },
    table: (name) => `${ATTACHED}."${name}"`,
    async drop() {
      for (const suffix of ["", "-wal", "-shm", "-journal"]) await fs.rm(`${file}${suffix}`, { force: true });
    },
  };
}
