// Verify a read model against the events: build the projection into a scratch copy from the start
// of $all (same code, same schema) up to exactly the position the live model has applied, then
// compare the two table by table, row by row. The copy is built in two passes, as a rebuild's:
//   1. up to the live checkpoint as it was when the verify started (no lock held);
//   2. inside a transaction on the live database that holds the projection's checkpoint lock (the
//      live projector waits, so the live model cannot move): on to the live checkpoint as it is
//      now, then the comparison (both tables read whole: memory grows with the read model).
import type { EventStoreDBClient } from "@eventstore/db-client";
import { catchUp, type CatchUpProgress } from "./catch-up";
import { readCheckpoint, type Projection } from "./projector-checkpoint";
import { openReadDb, type ReadDb, type ReadTx } from "./read-db";
import { projectionTables, withFreshCopy } from "./rebuild-copy";
import { lockForSwap } from "./rebuild";

export interface VerifyOptions {
  client: EventStoreDBClient;
  /** URL of the live read database (READ_DATABASE_URL). */
  liveUrl: string;
  projection: Projection;
  onProgress?: (progress: CatchUpProgress) => void;
  /** The store's connection string: the first pass then reads $all in a worker thread. */
  connectionString?: string;
  /** Rows shown per table and direction (the counts are always complete). */
  sampleRows?: number;
}

export interface TableDifference {
  table: string;
  /** Rows the live model has that a build from the events does not (wrong or extra rows). */
  onlyLive: number;
  /** Rows a build from the events has that the live model lacks (missing or stale rows). */
  onlyRebuilt: number;
  sampleOnlyLive: Record<string, unknown>[];
  sampleOnlyRebuilt: Record<string, unknown>[];
}

export interface VerifyResult {
  projection: string;
  /** The commit position both models were compared at (undefined: the live model has applied nothing). */
  position?: bigint;
  rows: Record<string, number>;
  differences: TableDifference[];
}

const VERIFY_TRANSACTION = { maxWait: 30_000, timeout: 600_000 };

export async function verifyProjection(options: VerifyOptions): Promise<VerifyResult> {
  const { projection } = options;
  const tables = projectionTables(projection, "there is nothing to verify");
  return withFreshCopy(options.liveUrl, `${projection.name}-verify`, async (fresh, copy) => {
    const live = await openReadDb(options.liveUrl);
    try {
      const build = { client: options.client, db: copy, projection, onFailure: "mark" as const };
      const startedAt = (await readCheckpoint(live, projection.name))?.commit;
      if (startedAt !== undefined) {
        await catchUp({ ...build, until: startedAt, onProgress: options.onProgress, readerConnectionString: options.connectionString });
      }
      return await live.$transaction(async (tx) => {
        await lockForSwap(tx, fresh, projection.name);
        const position = (await tx.projectionCheckpoint.findUnique({ where: { name: projection.name } }))?.commitPosition;
        if (position !== undefined) await catchUp({ ...build, until: position });
        const rows: Record<string, number> = {};
        const differences: TableDifference[] = [];
        for (const table of tables) {
          const compared = await compareTable(tx, copy, table, options.sampleRows ?? 10);
          rows[table] = compared.liveRows;
          if (compared.difference) differences.push(compared.difference);
        }
        const copyPosition = (await readCheckpoint(copy, projection.name))?.commit;
        if (position !== undefined && copyPosition !== undefined && copyPosition > position) {
          throw new Error(`the scratch copy went past the live checkpoint (${copyPosition} > ${position})`);
        }
        return { projection: projection.name, position, rows, differences };
      }, VERIFY_TRANSACTION);
    } finally {
      await live.$disconnect();
    }
  });
}

async function compareTable(tx: ReadTx, copy: ReadDb, table: string, sample: number): Promise<{ liveRows: number; difference?: TableDifference }> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new Error(`not a table name: "${table}"`);
  const liveRows = await tx.$queryRawUnsafe<Record<string, unknown>[]>(`SELECT * FROM "${table}"`);
  const copyRows = await copy.$queryRawUnsafe<Record<string, unknown>[]>(`SELECT * FROM "${table}"`);
  // A multiset difference on a canonical text of each row (columns in name order).
  const counts = new Map<string, number>();
  for (const row of copyRows) counts.set(canonical(row), (counts.get(canonical(row)) ?? 0) + 1);
  const onlyLive: Record<string, unknown>[] = [];
  for (const row of liveRows) {
    const key = canonical(row);
    const left = counts.get(key) ?? 0;
    if (left === 0) onlyLive.push(row);
    else counts.set(key, left - 1);
  }
  const onlyRebuilt = copyRows.filter((row) => {
    const key = canonical(row);
    const left = counts.get(key) ?? 0;
    if (left === 0) return false;
    counts.set(key, left - 1);
    return true;
  });
  if (onlyLive.length === 0 && onlyRebuilt.length === 0) return { liveRows: liveRows.length };
  return {
    liveRows: liveRows.length,
    difference: { table, onlyLive: onlyLive.length, onlyRebuilt: onlyRebuilt.length, sampleOnlyLive: onlyLive.slice(0, sample), sampleOnlyRebuilt: onlyRebuilt.slice(0, sample) },
  };
}

/** Column values in column-name order, numbers and bigints alike as decimal text, dates as ISO text. */
function canonical(row: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(row)
      .sort()
      .map((column) => {
        const value = row[column];
        if (typeof value === "bigint" || typeof value === "number") return String(value);
        if (value instanceof Date) return value.toISOString();
        if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
        return value;
      }),
  );
}
