// Catch-up builds: a projection reads $all from its checkpoint (or the start) in pages and
// applies many events per transaction, checkpoint included, until it reaches the end of $all.
// New read models build this way on first start; blue/green rebuilds use it on a fresh database.
import type { EventStoreDBClient, Position } from "@eventstore/db-client";
import { headPosition } from "./all-events";
import { inlineAllReader, workerAllReader } from "./all-reader";
import { applyBatchWithCheckpoint, applyWithCheckpoint, markForRetry, readCheckpoint, type ProjectedEvent, type Projection } from "./projector-checkpoint";
import { isInfrastructureError } from "../process/infrastructure-errors";
import type { ReadDb } from "./read-db";

export interface CatchUpProgress {
  /** Events read from $all so far (matching the filter or not). */
  scanned: number;
  /** Events the projection applied so far. */
  applied: number;
  /** Commit position of the last event read. */
  position: bigint;
  /** Commit position of the last event in $all when the build started. */
  head: bigint;
}

export interface CatchUpOptions {
  client: EventStoreDBClient;
  db: ReadDb;
  projection: Projection;
  /** Events per $all read. */
  pageSize?: number;
  /** Matching events per read-database transaction. */
  batchSize?: number;
  /**
   * An event the projection fails on: "stop" ends the build before it (the live subscription
   * group then retries and parks it); "mark" records a retry mark, as a parked event gets, and
   * goes on (rebuilds, which must reach the end).
   */
  onFailure: "stop" | "mark";
  onProgress?: (progress: CatchUpProgress) => void;
  onFailedEvent?: (event: ProjectedEvent, error: unknown) => void;
  shouldStop?: () => boolean;
  /**
   * Read $all in a worker thread with a client of its own, made from this connection string
   * (long builds: decoding then runs beside applying). Default: `client`, in this thread.
   */
  readerConnectionString?: string;
  /** Apply nothing after this commit position (a build that must end exactly where another model is). */
  until?: bigint;
}

export interface CatchUpResult {
  scanned: number;
  applied: number;
  /** Position of the last event read, matching or not; undefined when nothing was read. */
  scannedTo?: Position;
  /** The projection's checkpoint at the end. */
  checkpoint: Position | null;
  /** The event the build stopped before (onFailure "stop"). */
  failed?: ProjectedEvent;
  stopped: boolean;
}

const DEFAULT_PAGE_SIZE = 2_000;
const DEFAULT_BATCH_SIZE = 1_000;

export async function catchUp(options: CatchUpOptions): Promise<CatchUpResult> {
  const { client, db, projection } = options;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const checkpoint = await readCheckpoint(db, projection.name);
  const head = (await headPosition(client))?.commit ?? 0n;
  const result: CatchUpResult = { scanned: 0, applied: 0, checkpoint, stopped: false };
  const readerOptions = { from: checkpoint ?? undefined, filter: projection.filter, pageSize };
  const reader = options.readerConnectionString ? workerAllReader(options.readerConnectionString, readerOptions) : inlineAllReader(client, readerOptions);
  try {
    for (let page = await reader.next(); page; page = await reader.next()) {
      const until = options.until;
      const events = until === undefined ? page.events : page.events.filter((event) => event.position.commit <= until);
      for (let i = 0; i < events.length; i += batchSize) {
        if (options.shouldStop?.()) return { ...result, stopped: true, checkpoint: await readCheckpoint(db, projection.name) };
        const outcome = await applyBatch(options, events.slice(i, i + batchSize));
        result.applied += outcome.applied;
        if (outcome.failed) return { ...result, failed: outcome.failed, checkpoint: await readCheckpoint(db, projection.name) };
      }
      result.scanned += page.scanned;
      if (page.last) result.scannedTo = page.last;
      options.onProgress?.({ scanned: result.scanned, applied: result.applied, position: result.scannedTo?.commit ?? 0n, head });
      if (until !== undefined && page.last && page.last.commit >= until) break;
    }
  } finally {
    await reader.close();
  }
  return { ...result, checkpoint: await readCheckpoint(db, projection.name) };
}

/** Applies a batch in one transaction; on failure, event by event to find (and handle) the culprit. */
async function applyBatch(options: CatchUpOptions, batch: ProjectedEvent[]): Promise<{ applied: number; failed?: ProjectedEvent }> {
  try {
    return { applied: await applyBatchWithCheckpoint(options.db, options.projection, batch) };
  } catch (batchError) {
    // An unreachable or locked database is no event's fault: the build stops, and its caller
    // waits it out (the projector) or reports it (a rebuild); nothing is marked for it.
    if (isInfrastructureError(batchError)) throw batchError;
    let applied = 0;
    for (const event of batch) {
      try {
        if ((await applyWithCheckpoint(options.db, options.projection, event)) === "applied") applied++;
      } catch (error) {
        if (isInfrastructureError(error)) throw error;
        options.onFailedEvent?.(event, error);
        if (options.onFailure === "stop") return { applied, failed: event };
        await markForRetry(options.db, options.projection.name, event, error);
      }
    }
    return { applied };
  }
}
