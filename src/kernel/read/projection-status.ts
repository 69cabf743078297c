// Projection status: the projector records each runner's state in projection_status (on every
// state change and every few seconds, never per event); status tools combine it with the
// checkpoint, the lag counted in $all and the subscription group's parked count.
import { PersistentSubscriptionDoesNotExistError, type EventStoreDBClient, type Position } from "@eventstore/db-client";
import type { Logger } from "pino";
import { matchesFilter, readPage } from "./all-events";
import { groupName, type ProjectionObserver, type ProjectionState } from "./projector";
import { readCheckpoint, type Projection } from "./projector-checkpoint";
import type { ReadDb } from "./read-db";

const FLUSH_EVERY_MS = 2_000;
/** A runner that has not reported for this long is counted as stopped (its process is gone). */
export const STALE_AFTER_MS = 15_000;
/** Lag is counted by reading $all; beyond this many events it is reported as "at least". */
export const DEFAULT_LAG_COUNT_LIMIT = 10_000;
const LAG_PAGE = 1_000;

interface RunnerStatus {
  state: ProjectionState;
  detail: string;
  eventsProcessed: bigint;
  dirty: boolean;
}

/** The projector's observer that keeps projection_status up to date. */
export class ProjectionStatusRecorder implements ProjectionObserver {
  private readonly runners = new Map<string, RunnerStatus>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: ReadDb,
    private readonly logger?: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  state(projection: string, state: ProjectionState, detail = ""): void {
    const runner = this.runner(projection);
    if (runner.state === state && runner.detail === detail) return;
    Object.assign(runner, { state, detail: detail.slice(0, 2000), dirty: true });
    void this.flush();
  }

  applied(projection: string, count: number): void {
    if (count <= 0) return;
    const runner = this.runner(projection);
    runner.eventsProcessed += BigInt(count);
    runner.dirty = true;
  }

  retried(): void {}
  parked(): void {}

  /** Writes every runner's status (a heartbeat for all of them, so readers can tell a dead process). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write()).catch((error) => this.logger?.warn({ err: error }, "could not record projection status"));
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private runner(projection: string): RunnerStatus {
    let runner = this.runners.get(projection);
    if (!runner) {
      runner = { state: "catching_up", detail: "", eventsProcessed: 0n, dirty: true };
      this.runners.set(projection, runner);
    }
    return runner;
  }

  private async write(): Promise<void> {
    const updatedAt = new Date();
    for (const [name, runner] of this.runners) {
      runner.dirty = false;
      const row = { state: runner.state, detail: runner.detail, eventsProcessed: runner.eventsProcessed, updatedAt };
      await this.db.projectionStatus.upsert({ where: { name }, create: { name, ...row }, update: row });
    }
  }
}

export interface ProjectionStatusReport {
  name: string;
  state: ProjectionState;
  detail: string;
  /** Commit position of the last applied event; undefined before the first. */
  checkpoint?: bigint;
  lagEvents: number;
  /** lagEvents reached the counting limit: the lag is at least that. */
  lagCapped: boolean;
  /** Age of the oldest event the projection has not applied; 0 when caught up. */
  lagMs: number;
  parkedCount: bigint;
  updatedAt?: Date;
}

export interface StatusSources {
  db: ReadDb;
  client: EventStoreDBClient;
  projections: Pick<Projection, "name" | "filter">[];
  lagCountLimit?: number;
  now?: () => Date;
}

export async function readProjectionStatus(sources: StatusSources): Promise<ProjectionStatusReport[]> {
  const reports: ProjectionStatusReport[] = [];
  for (const projection of sources.projections) reports.push(await statusOf(sources, projection));
  return reports;
}

async function statusOf(sources: StatusSources, projection: Pick<Projection, "name" | "filter">): Promise<ProjectionStatusReport> {
  const now = (sources.now ?? (() => new Date()))();
  const row = await sources.db.projectionStatus.findUnique({ where: { name: projection.name } });
  const checkpoint = await readCheckpoint(sources.db, projection.name);
  const lag = await countLag(sources.client, projection, checkpoint ?? undefined, sources.lagCountLimit ?? DEFAULT_LAG_COUNT_LIMIT, now);
  let state: ProjectionState = row ? (row.state as ProjectionState) : "stopped";
  if (row && state !== "stopped" && now.getTime() - row.updatedAt.getTime() > STALE_AFTER_MS) state = "stopped";
  return {
    name: projection.name,
    state,
    detail: row?.detail ?? "",
    checkpoint: checkpoint?.commit,
    ...lag,
    parkedCount: await parkedCount(sources.client, projection),
    updatedAt: row?.updatedAt,
  };
}

/** Counts the projection's events in $all after its checkpoint, up to `limit`, and the age of the first. */
export async function countLag(
  client: EventStoreDBClient,
  projection: Pick<Projection, "filter">,
  checkpoint: Position | undefined,
  limit: number,
  now: Date,
): Promise<{ lagEvents: number; lagCapped: boolean; lagMs: number }> {
  let lagEvents = 0;
  let oldest: Date | undefined;
  let from: Position | undefined = checkpoint;
  // Scans at most 10 × limit events (others' included) before it stops counting.
  for (let scanned = 0; scanned < limit * 10; ) {
    const page = await readPage(client, from, LAG_PAGE);
    for (const resolved of page) {
      const event = resolved.event;
      if (!event?.position || (from !== undefined && event.position.commit <= from.commit)) continue;
      scanned++;
      if (!matchesFilter(projection.filter, event)) continue;
      oldest ??= event.created;
      if (++lagEvents >= limit) return { lagEvents, lagCapped: true, lagMs: ageMs(oldest, now) };
    }
    const last = page.at(-1)?.event?.position;
    if (page.length < LAG_PAGE || !last) break;
    from = last;
  }
  return { lagEvents, lagCapped: false, lagMs: oldest ? ageMs(oldest, now) : 0 };
}

function ageMs(created: Date, now: Date): number {
  return Math.max(0, now.getTime() - created.getTime());
}

export async function parkedCount(client: EventStoreDBClient, projection: Pick<Projection, "name">): Promise<bigint> {
  try {
    const info = await client.getPersistentSubscriptionToAllInfo(groupName(projection));
    return info.stats.parkedMessageCount;
  } catch (error) {
    if (error instanceof PersistentSubscriptionDoesNotExistError) return 0n;
    throw error;
  }
}
