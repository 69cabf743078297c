// Exactly-once effect for at-least-once delivery: a projection's change and its checkpoint
// commit in one read-database transaction, so a redelivered event is a no-op.
import type { ReadDb, ReadTx } from "./read-db";

/** An event as a projection sees it, independent of the store client's types. */
export interface ProjectedEvent {
  id: string;
  streamId: string;
  /** 0-based revision within its stream. */
  revision: bigint;
  type: string;
  /** Parsed JSON for JSON events; the raw text when it did not parse; bytes for binary events. */
  data: unknown;
  metadata: unknown;
  /** When the store recorded the event. */
  created: Date;
  /** $all position. */
  position: { commit: bigint; prepare: bigint };
}

/** The JSON data of an event as a projection or reactor receives it; throws on anything else. */
export function eventJson(event: ProjectedEvent): unknown {
  if (event.data instanceof Uint8Array) return JSON.parse(Buffer.from(event.data).toString("utf8"));
  if (typeof event.data === "string") throw new Error(`event data of ${event.type} is not valid JSON`);
  return event.data;
}

/** Which events a projection's subscription group receives (prefix match, any of them). */
export type ProjectionFilter = { streamPrefixes: string[] } | { eventTypePrefixes: string[] };

export interface Projection {
  /** Stable name: keys the checkpoint row and names the subscription group. */
  name: string;
  filter: ProjectionFilter;
  /** Applies one event inside the open transaction; throws to have the event retried (then parked). */
  apply(tx: ReadTx, event: ProjectedEvent): Promise<void>;
  /**
   * "catch-up": before its subscription group exists (first start), the projection builds from
   * the start of $all with batched reads and transactions, then goes live from where it got to.
   * Default "live": the group alone delivers history and live events one by one.
   */
  build?: "catch-up" | "live";
  /** Read-model tables the projection owns: a blue/green rebuild replaces exactly these. */
  tables?: string[];
  /**
   * Optional fast path for catch-up builds and rebuilds: applies a run of events (in $all order)
   * at once, with the same effect as apply() on each in turn (e.g. one bulk upsert).
   */
  applyBatch?(tx: ReadTx, events: ProjectedEvent[]): Promise<void>;
}

export type ApplyOutcome = "applied" | "skipped";

// Interactive transactions wait for SQLite's single writer; allow for a busy database.
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 30_000 };

/**
 * Applies `event` unless the checkpoint shows it was applied already. An event at or before the
 * checkpoint is still applied when it has a retry mark: it failed earlier and later events moved
 * the checkpoint past it while it waited for redelivery (or sat parked until a replay).
 */
export async function applyWithCheckpoint(db: ReadDb, projection: Projection, event: ProjectedEvent): Promise<ApplyOutcome> {
  const [outcome] = await applyDeliveriesWithCheckpoint(db, projection, [event]);
  return outcome!;
}

/** The projection threw on the run's event at `index`; the whole run was rolled back. */
export class RunEventFailed extends Error {
  override readonly name = "RunEventFailed";

  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super(`event ${index} of the run failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/**
 * The live path for a run of deliveries (in the order the subscription handed them over): each
 * one gets applyWithCheckpoint's treatment, all in ONE transaction, so a burst of events costs
 * one commit. Any failure rolls the whole run back; when the projection threw on one of the events,
 * the error is a RunEventFailed naming it. With `batch`, a run wholly ahead of the checkpoint goes
 * to the projection's applyBatch instead (an error then names no event: retry without `batch`).
 */
export async function applyDeliveriesWithCheckpoint(db: ReadDb, projection: Projection, events: ProjectedEvent[], options: { batch?: boolean } = {}): Promise<ApplyOutcome[]> {
  const name = projection.name;
  return db.$transaction(async (tx) => {
    let passed = await lockAndReadCheckpoint(tx, name);
    /** The events applied ahead of the checkpoint, in order: the last one is the new checkpoint. */
    const ahead: ProjectedEvent[] = [];
    const outcomes: ApplyOutcome[] = [];
    // A run wholly ahead of the checkpoint (the usual live case: no redelivery, no retry) may go
    // to applyBatch at once; whatever it throws rolls the run back for an event-by-event attempt.
    const first = events[0];
    const batched = options.batch === true && projection.applyBatch !== undefined && first !== undefined && (passed === undefined || first.position.commit > passed);
    if (batched) {
      await projection.applyBatch!(tx, events);
      ahead.push(...events);
      outcomes.push(...events.map((): ApplyOutcome => "applied"));
    }
    const apply = async (event: ProjectedEvent) => {
      try {
        await projection.apply(tx, event);
      } catch (error) {
        throw events.length === 1 ? error : new RunEventFailed(outcomes.length, error);
      }
    };
    for (const event of batched ? [] : events) {
      const commitPosition = event.position.commit;
      if (passed !== undefined && commitPosition <= passed) {
        const retryKey = { projection_commitPosition: { projection: name, commitPosition } };
        const retry = await tx.projectionRetry.findUnique({ where: retryKey });
        if (!retry) {
          outcomes.push("skipped");
          continue;
        }
        await apply(event);
        await tx.projectionRetry.delete({ where: retryKey });
        outcomes.push("applied");
        continue;
      }
      await apply(event);
      passed = commitPosition;
      ahead.push(event);
      outcomes.push("applied");
    }
    const advanced = ahead.at(-1);
    if (advanced) {
      // Marks left by earlier failures of the events just applied ahead of the checkpoint.
      await tx.projectionRetry.deleteMany({ where: { projection: name, commitPosition: { in: ahead.map((event) => event.position.commit) } } });
      const position = { commitPosition: advanced.position.commit, preparePosition: advanced.position.prepare, updatedAt: new Date() };
      await tx.projectionCheckpoint.upsert({ where: { name }, create: { name, ...position }, update: position });
    }
    return outcomes;
  }, TRANSACTION_OPTIONS);
}

/**
 * Applies a run of events (in $all order) and the checkpoint after the last one in ONE
 * transaction: the fast path of catch-up builds. Events at or before the checkpoint are skipped.
 */
export async function applyBatchWithCheckpoint(db: ReadDb, projection: Projection, events: ProjectedEvent[]): Promise<number> {
  const last = events.at(-1);
  if (!last) return 0;
  const name = projection.name;
  return db.$transaction(async (tx) => {
    const passed = await lockAndReadCheckpoint(tx, name);
    const fresh = passed === undefined ? events : events.filter((event) => event.position.commit > passed);
    if (fresh.length === 0) return 0;
    if (projection.applyBatch) await projection.applyBatch(tx, fresh);
    else for (const event of fresh) await projection.apply(tx, event);
    const position = { commitPosition: last.position.commit, preparePosition: last.position.prepare, updatedAt: new Date() };
    await tx.projectionCheckpoint.upsert({ where: { name }, create: { name, ...position }, update: position });
    return fresh.length;
  }, TRANSACTION_OPTIONS);
}

/**
 * Takes the projection's checkpoint row for writing before reading it (on SQLite: the write
 * lock), so the transaction serialises with a rebuild's swap instead of acting on a checkpoint
 * the swap replaces under it.
 */
export async function lockCheckpoint(tx: ReadTx, name: string): Promise<void> {
  await tx.projectionCheckpoint.updateMany({ where: { name }, data: { name } });
}

/**
 * lockCheckpoint and a read of the checkpoint's commit position, in one statement while the row
 * exists (every run of events pays for this: one query instead of two). Undefined before the
 * projection's first event. When the UPDATE finds no row, the row may have been replaced while
 * this transaction waited for it (a rebuild's swap on PostgreSQL deletes and re-creates it): a
 * second statement reads what is there now, as lockCheckpoint followed by a read always did. The
 * position comes back as text: SQLite's driver would hand a large one over as a number.
 */
async function lockAndReadCheckpoint(tx: ReadTx, name: string): Promise<bigint | undefined> {
  const rows = await tx.$queryRaw<{ position: string }[]>`
    UPDATE projection_checkpoint SET name = name WHERE name = ${name} RETURNING CAST(commit_position AS TEXT) AS position`;
  if (rows[0] !== undefined) return BigInt(rows[0].position);
  return (await tx.projectionCheckpoint.findUnique({ where: { name } }))?.commitPosition;
}

/** Marks an event the projection failed on, so its redelivery is applied even behind the checkpoint. */
export async function markForRetry(db: ReadDb, projectionName: string, event: ProjectedEvent, error: unknown): Promise<void> {
  const commitPosition = event.position.commit;
  const lastError = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
  const failedAt = new Date();
  await db.projectionRetry.upsert({
    where: { projection_commitPosition: { projection: projectionName, commitPosition } },
    create: { projection: projectionName, commitPosition, failedAt, lastError },
    update: { failedAt, lastError },
  });
}

/** The projection's checkpoint, or null before its first event. */
export async function readCheckpoint(db: ReadDb, projectionName: string): Promise<{ commit: bigint; prepare: bigint } | null> {
  const row = await db.projectionCheckpoint.findUnique({ where: { name: projectionName } });
  return row ? { commit: row.commitPosition, prepare: row.preparePosition } : null;
}
