// Projector runtime: one persistent-subscription group on $all per projection. Events are
// applied with their checkpoint in one transaction, then acked: the deliveries already buffered
// when one arrives go into the same transaction (a burst costs one commit). Two kinds of failure:
// - the projection's own code throws on an event: the event gets a retry mark, is nacked for
//   retry with backoff, and after maxRetries such failures is parked on purpose (the mark stays,
//   so a replay applies it although the checkpoint moved on);
// - the infrastructure fails (read database unreachable, locked, restarting; the store for a
//   reactor): the runner keeps the deliveries in hand, waits with capped backoff for as long as
//   it takes and tries the same work again. Nothing is nacked, nothing counts toward parking,
//   the checkpoint stays where it is; the state reads "waiting".
import {
  eventTypeFilter,
  PersistentSubscriptionDoesNotExistError,
  PersistentSubscriptionExistsError,
  PersistentSubscriptionMaximumSubscribersReachedError,
  persistentSubscriptionToAllSettingsFromDefaults,
  START,
  StreamNotFoundError,
  streamNameFilter,
  type EventStoreDBClient,
  type Position,
  type PersistentSubscriptionToAll,
  type PersistentSubscriptionToAllResolvedEvent,
} from "@eventstore/db-client";
import type { Logger } from "pino";
import { toProjectedEvent } from "./all-events";
import { catchUp } from "./catch-up";
import {
  applyDeliveriesWithCheckpoint,
  applyWithCheckpoint,
  markForRetry,
  readCheckpoint,
  RunEventFailed,
  type ProjectedEvent,
  type Projection,
  type ProjectionFilter,
} from "./projector-checkpoint";
import { readMetadata } from "../write/event-codec";
import { infrastructureReason, isInfrastructureError } from "../process/infrastructure-errors";
import type { ReadDb } from "./read-db";

export type { ProjectedEvent, Projection, ProjectionFilter } from "./projector-checkpoint";
export { eventJson } from "./projector-checkpoint";

/**
 * A process that answers events with commands instead of read-model writes (a process manager).
 * It gets no transaction and no checkpoint: a redelivered event reaches it again, so its effects
 * must be idempotent where they land (e.g. in the aggregates it commands).
 */
export interface Reactor {
  kind: "reactor";
  /** Stable name: names the subscription group ("reactor-<name>"). */
  name: string;
  filter: ProjectionFilter;
  /** Throws to have the event retried (then parked). */
  react(event: ProjectedEvent): Promise<void>;
}

export interface ProjectorOptions {
  client: EventStoreDBClient;
  db: ReadDb;
  projections: Projection[];
  /** Run beside the projections, each on a subscription group of its own. */
  reactors?: Reactor[];
  logger: Logger;
  /** The group's maxRetryCount: deliveries of a failing event before the store parks it. */
  maxRetries: number;
  /** First retry delay; doubles with each retry of the same event. */
  retryBaseMs: number;
  /** Events the store may have in flight to this consumer; also the most applied in one transaction. */
  bufferSize?: number;
  /** Told about state changes and handled events (status table, metrics). */
  observer?: ProjectionObserver;
}

export type ProjectionState = "catching_up" | "live" | "waiting" | "stopped" | "failed";

export interface ProjectionObserver {
  state(projection: string, state: ProjectionState, detail?: string): void;
  /** `count` events applied, the last at commit position `position`. */
  applied(projection: string, count: number, position: bigint): void;
  retried(projection: string): void;
  parked(projection: string): void;
}

export interface RunningProjector {
  /** Stops taking events, finishes (acks or nacks) the one in hand, closes the subscriptions. */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 30_000;
/** Longest pause between two tries while the infrastructure is down (how soon the runner notices it is back). */
const MAX_INFRASTRUCTURE_BACKOFF_MS = 5_000;
/**
 * The group's maxRetryCount: the store parks an event on its own after this many deliveries. The
 * runner parks on purpose long before, after `maxRetries` failures of the projection's own code.
 * Deliveries that are nobody's fault (a runner that waited out an outage past the store's message
 * timeout, a dropped connection) also count at the store, so its limit is only a backstop against
 * a crash loop, never what decides that an event is parked.
 */
export const STORE_PARKING_BACKSTOP = 10_000;
const DEFAULT_BUFFER_SIZE = 100;
/** How often a standby replica asks for a projection group another replica holds. */
const STANDBY_POLL_MS = 500;

export function groupName(handler: Pick<Projection, "name"> | Pick<Reactor, "name" | "kind">): string {
  return "kind" in handler && handler.kind === "reactor" ? `reactor-${handler.name}` : `projection-${handler.name}`;
}

export function startProjector(options: ProjectorOptions): RunningProjector {
  const handlers = [...options.projections, ...(options.reactors ?? [])];
  const runners = handlers.map((handler) => new ProjectionRunner(handler, options));
  const done = runners.map((runner) => runner.run());
  return {
    async stop() {
      for (const runner of runners) runner.stop();
      await Promise.all(done);
    },
  };
}

/** Thrown out of a wait when the runner is asked to stop: the deliveries in hand stay unacknowledged. */
class StopRequested extends Error {}

class ProjectionRunner {
  private stopping = false;
  private handling = false;
  /** Failures of the handler's own code per event id (what decides parking); cleared on success or park. */
  private readonly failures = new Map<string, number>();
  /** Set while the infrastructure is down: when the runner first found it so. */
  private waitingSince: Date | undefined;
  private subscription: PersistentSubscriptionToAll | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly log: Logger;

  constructor(
    private readonly projection: Projection | Reactor,
    private readonly options: ProjectorOptions,
  ) {
    this.log = options.logger.child(isReactor(projection) ? { reactor: projection.name } : { projection: projection.name });
  }

  stop(): void {
    this.stopping = true;
    this.wakeUp?.();
    // Between events: end the stream now. Mid-event: the loop ends after the ack/nack.
    if (!this.handling) void this.closeSubscription();
  }

  async run(): Promise<void> {
    let attempt = 0;
    let standingBy = false;
    while (!this.stopping) {
      try {
        await this.ensureGroup();
        if (this.stopping) break;
        if (this.waitingSince) {
          // Found down outside an apply (e.g. during a catch-up build): back once it answers.
          if (!isReactor(this.projection)) await readCheckpoint(this.options.db, this.projection.name);
          this.noteRecovered();
        }
        if (!this.waitingSince) this.observer?.state(this.projection.name, "live");
        const subscription = this.options.client.subscribeToPersistentSubscriptionToAll(groupName(this.projection), {
          bufferSize: this.options.bufferSize ?? DEFAULT_BUFFER_SIZE,
        });
        this.subscription = subscription;
        subscription.once("confirmation", () => {
          attempt = 0;
          standingBy = false;
          this.log.info({ group: groupName(this.projection) }, "subscribed");
        });
        for await (const resolved of subscription) {
          this.handling = true;
          try {
            await this.handleDeliveries(subscription, [resolved, ...(await this.alreadyBuffered(subscription))]);
          } finally {
            this.handling = false;
          }
          if (this.stopping) break;
        }
        if (!this.stopping) this.log.warn("subscription ended by the server; resubscribing");
      } catch (error) {
        if (error instanceof PersistentSubscriptionMaximumSubscribersReachedError) {
          if (!standingBy) this.log.info({ group: groupName(this.projection) }, "another replica holds the group; standing by");
          standingBy = true;
        } else if (!this.stopping && isInfrastructureError(error)) {
          standingBy = false;
          this.noteWaiting(error);
        } else if (!this.stopping) {
          standingBy = false;
          this.log.error({ err: error, attempt }, "subscription dropped; resubscribing");
          this.observer?.state(this.projection.name, "failed", error instanceof Error ? error.message : String(error));
        }
      } finally {
        await this.closeSubscription();
      }
      if (!this.stopping) {
        const pause = standingBy ? STANDBY_POLL_MS : backoff(this.options.retryBaseMs, attempt++);
        await this.sleep(this.waitingSince ? Math.min(pause, MAX_INFRASTRUCTURE_BACKOFF_MS) : pause);
      }
    }
    this.observer?.state(this.projection.name, "stopped");
    this.log.info("stopped");
  }

  private get observer(): ProjectionObserver | undefined {
    return this.options.observer;
  }

  private async groupExists(): Promise<boolean> {
    try {
      await this.options.client.getPersistentSubscriptionToAllInfo(groupName(this.projection));
      return true;
    } catch (error) {
      if (error instanceof PersistentSubscriptionDoesNotExistError) return false;
      throw error;
    }
  }

  /**
   * First start of a catch-up projection (no group yet): build from the checkpoint (or the start)
   * in batches, then let the group start where the build stopped reading. Events appended in
   * between are after that position, so the group delivers them: no gap; anything delivered
   * twice is at or behind the checkpoint and skipped: no duplicate.
   */
  private async buildByCatchUp(projection: Projection): Promise<Position | "start" | undefined> {
    this.observer?.state(this.projection.name, "catching_up");
    this.log.info("building by catch-up from $all");
    let reported = 0;
    const result = await catchUp({
      client: this.options.client,
      db: this.options.db,
      projection,
      onFailure: "stop",
      shouldStop: () => this.stopping,
      onProgress: (progress) => {
        this.observer?.applied(this.projection.name, progress.applied - reported, progress.position);
        reported = progress.applied;
      },
      onFailedEvent: (event, error) => this.log.warn({ err: error, position: event.position.commit }, "catch-up stops before a failing event; the live group retries it"),
    });
    if (result.stopped) return undefined;
    this.log.info({ scanned: result.scanned, applied: result.applied }, "catch-up build reached the end of $all; going live");
    const from = result.failed ? result.checkpoint : result.scannedTo ?? result.checkpoint;
    return from ?? "start";
  }

  private async ensureGroup(): Promise<void> {
    let startFrom: Position | typeof START = START;
    if (!isReactor(this.projection) && this.projection.build === "catch-up" && !(await this.groupExists())) {
      const builtTo = await this.buildByCatchUp(this.projection);
      if (builtTo === undefined) return;
      if (builtTo !== "start") startFrom = builtTo;
    }
    const settings = persistentSubscriptionToAllSettingsFromDefaults({
      startFrom,
      maxRetryCount: STORE_PARKING_BACKSTOP,
      // One consumer per projection: the checkpoint skips what is behind it, which is only right
      // when events are applied in $all order. Other replicas stand by and take over on failure.
      maxSubscriberCount: isReactor(this.projection) ? 0 : 1,
    });
    const filter = toStoreFilter(this.projection);
    try {
      await this.options.client.createPersistentSubscriptionToAll(groupName(this.projection), settings, { filter });
      this.log.info({ group: groupName(this.projection) }, "created subscription group");
    } catch (error) {
      if (!(error instanceof PersistentSubscriptionExistsError)) throw error;
      await this.raiseStoreParkingLimit();
    }
  }

  /**
   * Groups created before the runner decided parking itself let the store park after maxRetries
   * deliveries, which an outage of the read database reaches on its own: raise their limit once.
   */
  private async raiseStoreParkingLimit(): Promise<void> {
    const group = groupName(this.projection);
    const info = await this.options.client.getPersistentSubscriptionToAllInfo(group);
    if (info.settings.maxRetryCount >= STORE_PARKING_BACKSTOP) return;
    await this.options.client.updatePersistentSubscriptionToAll(group, { ...info.settings, maxRetryCount: STORE_PARKING_BACKSTOP });
    this.log.info({ group, from: info.settings.maxRetryCount, to: STORE_PARKING_BACKSTOP }, "raised the store's parking limit of the group to a backstop; the runner parks on purpose");
  }

  /**
   * Deliveries that have arrived already (projections only). One turn of the event loop first:
   * while the previous run's transaction held the loop (the SQLite driver is synchronous), what
   * arrived still sits in the socket, unread.
   */
  private async alreadyBuffered(subscription: PersistentSubscriptionToAll): Promise<Delivery[]> {
    if (isReactor(this.projection)) return [];
    await new Promise((resolve) => setImmediate(resolve));
    const limit = (this.options.bufferSize ?? DEFAULT_BUFFER_SIZE) - 1;
    const more: Delivery[] = [];
    for (let next: Delivery | null; more.length < limit && (next = subscription.read() as Delivery | null) !== null; ) more.push(next);
    return more;
  }

  /**
   * First deliveries (not retries, not replays of parked events through links) are applied in
   * runs, one transaction each; the others, and every event of a run that failed, one by one.
   */
  private async handleDeliveries(subscription: PersistentSubscriptionToAll, deliveries: Delivery[]): Promise<void> {
    let run: { delivery: Delivery; event: ProjectedEvent }[] = [];
    const flush = async () => {
      if (run.length > 0) await this.applyRun(subscription, run);
      run = [];
    };
    for (const delivery of deliveries) {
      const event = delivery.retryCount === 0 && !delivery.link ? toProjectedEvent(delivery) : undefined;
      if (event && !isReactor(this.projection)) {
        run.push({ delivery, event });
        continue;
      }
      await flush();
      await this.handle(subscription, delivery);
    }
    await flush();
  }

  private async applyRun(subscription: PersistentSubscriptionToAll, run: { delivery: Delivery; event: ProjectedEvent }[]): Promise<void> {
    const projection = this.projection as Projection;
    if (run.length === 0) return;
    if (run.length === 1) return this.handle(subscription, run[0]!.delivery);
    const events = run.map((item) => item.event);
    // A projection with applyBatch gets the run at once first; if that fails (rolled back), the
    // event-by-event attempt below finds the failing event.
    let outcomes = projection.applyBatch
      ? await applyDeliveriesWithCheckpoint(this.options.db, projection, events, { batch: true }).catch((error: unknown) => {
          this.log.debug({ err: error, events: run.length }, "a batched run failed; applying it event by event");
          return undefined;
        })
      : undefined;
    if (!outcomes) {
      try {
        outcomes = await this.outlastInfrastructure(() => applyDeliveriesWithCheckpoint(this.options.db, projection, events));
      } catch (error) {
        if (error instanceof StopRequested) throw error;
        if (!(error instanceof RunEventFailed)) {
          this.log.warn({ err: error, events: run.length }, "a run of events failed as one transaction; applying them one by one");
          for (const { delivery } of run) await this.handle(subscription, delivery);
          return;
        }
        // Everything before the failing event again (it was rolled back), the failing one to its
        // retries as any failed delivery, then the rest.
        await this.applyRun(subscription, run.slice(0, error.index));
        const { delivery, event } = run[error.index]!;
        await this.retryLater(subscription, delivery, event, error.cause, this.logContext(event, delivery));
        await this.applyRun(subscription, run.slice(error.index + 1));
        return;
      }
    }
    await subscription.ack(...run.map((item) => item.delivery));
    if (this.failures.size > 0) for (const { event } of run) this.failures.delete(event.id);
    const applied = run.filter((_, i) => outcomes[i] === "applied");
    if (applied.length > 0) this.observer?.applied(projection.name, applied.length, applied.at(-1)!.event.position.commit);
    if (this.log.isLevelEnabled("debug")) {
      run.forEach(({ delivery, event }, i) => this.log.debug({ ...this.logContext(event, delivery), outcome: outcomes[i] }, "event handled"));
    }
  }

  private logContext(event: ProjectedEvent, delivery: Delivery): Record<string, unknown> {
    // The ids the command side wrote (x-correlation-id): one flow can be followed across the processes' logs.
    return { stream: event.streamId, revision: event.revision, type: event.type, position: event.position.commit, retryCount: delivery.retryCount, ...readMetadata(event.metadata) };
  }

  private async handle(subscription: PersistentSubscriptionToAll, resolved: Delivery): Promise<void> {
    const event = await this.withOriginalPosition(toProjectedEvent(resolved), resolved);
    if (!event) {
      // Nothing we could apply or checkpoint (e.g. a link to a deleted event): acknowledge it.
      this.log.warn({ commitPosition: resolved.commitPosition }, "skipping a delivery without an event or position");
      await subscription.ack(resolved);
      return;
    }
    const context = this.logContext(event, resolved);
    const handler = this.projection;
    let outcome;
    try {
      outcome = await this.outlastInfrastructure(async () => {
        if (!isReactor(handler)) return applyWithCheckpoint(this.options.db, handler, event);
        await handler.react(event);
        return "reacted";
      });
    } catch (error) {
      if (error instanceof StopRequested) throw error;
      await this.retryLater(subscription, resolved, event, error, context);
      return;
    }
    await subscription.ack(resolved);
    if (this.failures.size > 0) this.failures.delete(event.id);
    if (outcome === "applied") this.observer?.applied(this.projection.name, 1, event.position.commit);
    this.log.debug({ ...context, outcome }, "event handled");
  }

  /**
   * A replayed parked event arrives through its link in the parked stream and carries the link's
   * position (as EventStoreDB sends it). The checkpoint and the retry mark are keyed by the
   * original's position, so read that from the event's own stream; without it the replay would
   * look already applied and be skipped.
   */
  private async withOriginalPosition(event: ProjectedEvent | undefined, resolved: PersistentSubscriptionToAllResolvedEvent): Promise<ProjectedEvent | undefined> {
    if (!event || !resolved.link) return event;
    try {
      for await (const original of this.options.client.readStream(event.streamId, { fromRevision: event.revision, maxCount: 1 })) {
        if (original.event?.id === event.id && original.event.position) return { ...event, position: original.event.position };
      }
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    return event;
  }

  private async retryLater(
    subscription: PersistentSubscriptionToAll,
    resolved: PersistentSubscriptionToAllResolvedEvent,
    event: ProjectedEvent,
    error: unknown,
    context: Record<string, unknown>,
  ): Promise<void> {
    const reason = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    const failures = (this.failures.get(event.id) ?? 0) + 1;
    const willPark = failures > this.options.maxRetries;
    this.log.error({ ...context, err: error, failures }, willPark ? "projection failed on event; parking it" : "projection failed on event; will retry");
    // Marked before it is nacked: unmarked, a redelivery (or a replay once parked) behind the
    // checkpoint would be skipped. Reactors have no checkpoint that could skip it.
    const handler = this.projection;
    if (!isReactor(handler)) await this.outlastInfrastructure(() => markForRetry(this.options.db, handler.name, event, error));
    if (willPark) {
      this.failures.delete(event.id);
      this.observer?.parked(this.projection.name);
      // The store parks it on its own once maxRetryCount is exceeded; saying so spares one round.
      await subscription.nack("park", reason, resolved);
      return;
    }
    this.failures.set(event.id, failures);
    this.observer?.retried(this.projection.name);
    if (!this.stopping) await this.sleep(backoff(this.options.retryBaseMs, failures - 1));
    await subscription.nack("retry", reason, resolved);
  }

  /**
   * Runs `work` until it succeeds or fails for a reason of its own (thrown). An infrastructure
   * failure is waited out: the same work is tried again, with capped backoff, for as long as it
   * takes; a stop request ends the wait (StopRequested) with nothing acknowledged.
   */
  private async outlastInfrastructure<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await work();
        if (this.waitingSince) this.noteRecovered();
        return result;
      } catch (error) {
        if (!isInfrastructureError(error)) throw error;
        if (this.stopping) throw new StopRequested("stopping while the infrastructure is down");
        this.noteWaiting(error);
        await this.sleep(Math.min(MAX_INFRASTRUCTURE_BACKOFF_MS, backoff(this.options.retryBaseMs, attempt)));
        if (this.stopping) throw new StopRequested("stopping while the infrastructure is down");
      }
    }
  }

  private noteWaiting(error: unknown): void {
    const first = this.waitingSince === undefined;
    this.waitingSince ??= new Date();
    const what = isReactor(this.projection) ? "a dependency" : "read database";
    const detail = `${what} unreachable since ${this.waitingSince.toISOString()}: ${infrastructureReason(error)}`;
    if (first) this.log.warn({ err: error }, `${what} unreachable: waiting with the position kept (nothing is parked for it)`);
    this.observer?.state(this.projection.name, "waiting", detail);
  }

  private noteRecovered(): void {
    const since = this.waitingSince!;
    this.waitingSince = undefined;
    this.log.info({ waitedMs: Date.now() - since.getTime() }, "infrastructure reachable again; going on from the kept position");
    this.observer?.state(this.projection.name, "live");
  }

  private async closeSubscription(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    if (!subscription) return;
    try {
      await subscription.unsubscribe();
    } catch (error) {
      this.log.debug({ err: error }, "closing the subscription failed (already closed)");
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      const self = this;
      function finish() {
        clearTimeout(timer);
        self.wakeUp = undefined;
        resolve();
      }
      this.wakeUp = finish;
    });
  }
}

type Delivery = PersistentSubscriptionToAllResolvedEvent;

function backoff(baseMs: number, attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.min(attempt, 16));
}

function isReactor(handler: Projection | Reactor): handler is Reactor {
  return "kind" in handler && handler.kind === "reactor";
}

function toStoreFilter(projection: Pick<Projection, "filter">) {
  const filter = projection.filter;
  return "streamPrefixes" in filter
    ? streamNameFilter({ prefixes: filter.streamPrefixes })
    : eventTypeFilter({ prefixes: filter.eventTypePrefixes });
}
