// Blue/green rebuild of one projection. Its tables are built into a FRESH database (same
// schema, same apply code, its own checkpoint) from the start of $all while the live read
// model keeps serving. Then one transaction on the live database swaps them in:
//   1. lock the projection's checkpoint row: the live projector takes the same lock first in
//      every apply transaction, so it waits (and afterwards sees the new checkpoint);
//   2. catch the fresh copy up with the events appended since the build pass;
//   3. replace the projection's tables, retry marks and checkpoint with the fresh copy's;
//   4. commit. Readers see the old model or the new one, never a half-built one.
import type { EventStoreDBClient } from "@eventstore/db-client";
import { catchUp, type CatchUpProgress } from "./catch-up";
import { lockCheckpoint, readCheckpoint, type ProjectedEvent, type Projection } from "./projector-checkpoint";
import { openReadDb, type ReadTx } from "./read-db";
import { freshDatabaseFor, projectionTables, replaceRows, replaceTable, withFreshCopy, type FreshDatabase } from "./rebuild-copy";

export { freshDatabaseFor, type FreshDatabase };

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
  /** The store's connection string: the build pass then reads $all in a worker thread (faster). */
  connectionString?: string;
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

const SWAP_TRANSACTION = { maxWait: 30_000, timeout: 600_000 };

export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { projection } = options;
  const tables = projectionTables(projection, "it cannot be rebuilt");
  return withFreshCopy(options.liveUrl, projection.name, async (fresh, copy) => {
    // The copy is disposable until the swap: losing it to a crash costs a restart, not data.
    const build = { client: options.client, db: copy, projection, onFailure: "mark" as const, batchSize: options.batchSize, onFailedEvent: options.onFailedEvent };
    const pass = await catchUp({ ...build, onProgress: options.onProgress, readerConnectionString: options.connectionString });

    options.onSwap?.();
    const liveDb = await openReadDb(options.liveUrl);
    try {
      await fresh.attach(liveDb);
      const swapped = await liveDb.$transaction(async (tx) => {
        await lockForSwap(tx, fresh, projection.name);
        const last = await catchUp(build);
        const checkpoint = await readCheckpoint(copy, projection.name);
        const rows: Record<string, number> = {};
        for (const table of tables) rows[table] = await replaceTable(tx, fresh, table);
        await replaceRows(tx, fresh, "projection_retry", "projection", projection.name);
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
      await liveDb.$disconnect();
    }
  });
}

/**
 * Makes the live projector wait for the swap: it locks the projection's checkpoint row first in
 * every apply transaction. On SQLite that write takes the database's write lock. On PostgreSQL
 * it locks the row only if it exists; before the projection's first checkpoint, lock the table
 * against writes instead (readers are not blocked).
 */
export async function lockForSwap(tx: ReadTx, fresh: Pick<FreshDatabase, "provider">, name: string): Promise<void> {
  await lockCheckpoint(tx, name);
  if (fresh.provider !== "postgresql") return;
  const rows = await tx.$queryRawUnsafe<unknown[]>('SELECT 1 FROM projection_checkpoint WHERE name = $1 FOR UPDATE', name);
  if (rows.length === 0) await tx.$executeRawUnsafe("LOCK TABLE projection_checkpoint IN EXCLUSIVE MODE");
}
