// Projector runtime: one persistent-subscription group on $all per projection. Each event is
// applied with its checkpoint in one transaction, then acked; a failing event is nacked for
// retry with backoff until the group's maxRetryCount parks it, and the projection moves on.
import {
  eventTypeFilter,
  PersistentSubscriptionExistsError,
  persistentSubscriptionToAllSettingsFromDefaults,
  START,
  streamNameFilter,
  type EventStoreDBClient,
  type PersistentSubscriptionToAll,
  type PersistentSubscriptionToAllResolvedEvent,
} from "@eventstore/db-client";
import type { Logger } from "pino";
import { applyWithCheckpoint, markForRetry, type ProjectedEvent, type Projection } from "./projector-checkpoint";
import type { ReadDb } from "./read-db";

export type { ProjectedEvent, Projection, ProjectionFilter } from "./projector-checkpoint";

export interface ProjectorOptions {
  client: EventStoreDBClient;
  db: ReadDb;
  projections: Projection[];
  logger: Logger;
  /** The group's maxRetryCount: deliveries of a failing event before the store parks it. */
  maxRetries: number;
  /** First retry delay; doubles with each retry of the same event. */
  retryBaseMs: number;
  /** Events the store may have in flight to this consumer. */
  bufferSize?: number;
}

export interface RunningProjector {
  /** Stops taking events, finishes (acks or nacks) the one in hand, closes the subscriptions. */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 30_000;

export function groupName(projection: Pick<Projection, "name">): string {
  return `projection-${projection.name}`;
}

export function startProjector(options: ProjectorOptions): RunningProjector {
  const runners = options.projections.map((projection) => new ProjectionRunner(projection, options));
  const done = runners.map((runner) => runner.run());
  return {
    async stop() {
      for (const runner of runners) runner.stop();
      await Promise.all(done);
    },
  };
}

class ProjectionRunner {
  private stopping = false;
  private handling = false;
  private subscription: PersistentSubscriptionToAll | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly log: Logger;

  constructor(
    private readonly projection: Projection,
    private readonly options: ProjectorOptions,
  ) {
    this.log = options.logger.child({ projection: projection.name });
  }

  stop(): void {
    this.stopping = true;
    this.wakeUp?.();
    // Between events: end the stream now. Mid-event: the loop ends after the ack/nack.
    if (!this.handling) void this.closeSubscription();
  }

  async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      try {
        await this.ensureGroup();
        if (this.stopping) break;
        const subscription = this.options.client.subscribeToPersistentSubscriptionToAll(groupName(this.projection), {
          bufferSize: this.options.bufferSize ?? 10,
        });
        this.subscription = subscription;
        subscription.once("confirmation", () => {
          attempt = 0;
          this.log.info({ group: groupName(this.projection) }, "subscribed");
        });
        for await (const resolved of subscription) {
          this.handling = true;
          try {
            await this.handle(subscription, resolved);
          } finally {
            this.handling = false;
          }
          if (this.stopping) break;
        }
        if (!this.stopping) this.log.warn("subscription ended by the server; resubscribing");
      } catch (error) {
        if (!this.stopping) this.log.error({ err: error, attempt }, "subscription dropped; resubscribing");
      } finally {
        await this.closeSubscription();
      }
      if (!this.stopping) await this.sleep(backoff(this.options.retryBaseMs, attempt++));
    }
    this.log.info("stopped");
  }

  private async ensureGroup(): Promise<void> {
    const settings = persistentSubscriptionToAllSettingsFromDefaults({
      startFrom: START,
      maxRetryCount: this.options.maxRetries,
    });
    const filter = toStoreFilter(this.projection);
    try {
      await this.options.client.createPersistentSubscriptionToAll(groupName(this.projection), settings, { filter });
      this.log.info({ group: groupName(this.projection) }, "created subscription group");
    } catch (error) {
      if (!(error instanceof PersistentSubscriptionExistsError)) throw error;
    }
  }

  private async handle(subscription: PersistentSubscriptionToAll, resolved: PersistentSubscriptionToAllResolvedEvent): Promise<void> {
    const event = toProjectedEvent(resolved);
    if (!event) {
      // Nothing we could apply or checkpoint (e.g. a link to a deleted event): acknowledge it.
      this.log.warn({ commitPosition: resolved.commitPosition }, "skipping a delivery without an event or position");
      await subscription.ack(resolved);
      return;
    }
    const context = { stream: event.streamId, revision: event.revision, type: event.type, position: event.position.commit, retryCount: resolved.retryCount };
    let outcome;
    try {
      outcome = await applyWithCheckpoint(this.options.db, this.projection, event);
    } catch (error) {
      await this.retryLater(subscription, resolved, event, error, context);
      return;
    }
    await subscription.ack(resolved);
    this.log.debug({ ...context, outcome }, "event handled");
  }

  private async retryLater(
    subscription: PersistentSubscriptionToAll,
    resolved: PersistentSubscriptionToAllResolvedEvent,
    event: ProjectedEvent,
    error: unknown,
    context: Record<string, unknown>,
  ): Promise<void> {
    const reason = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    const willPark = resolved.retryCount >= this.options.maxRetries;
    this.log.error({ ...context, err: error }, willPark ? "projection failed on event; parking it" : "projection failed on event; will retry");
    try {
      await markForRetry(this.options.db, this.projection.name, event, error);
    } catch (markError) {
      // Unmarked, a redelivery behind the checkpoint would be skipped. Drop the subscription
      // instead of nacking: the store hands the unacknowledged events out again on resubscribe.
      this.log.error({ ...context, err: markError }, "could not mark the event for retry; resubscribing");
      throw markError;
    }
    if (willPark) {
      // The store parks it on its own once maxRetryCount is exceeded; saying so spares one round.
      await subscription.nack("park", reason, resolved);
      return;
    }
    if (!this.stopping) await this.sleep(backoff(this.options.retryBaseMs, resolved.retryCount));
    await subscription.nack("retry", reason, resolved);
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

function backoff(baseMs: number, attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.min(attempt, 16));
}

function toStoreFilter(projection: Projection) {
  const filter = projection.filter;
  return "streamPrefixes" in filter
    ? streamNameFilter({ prefixes: filter.streamPrefixes })
    : eventTypeFilter({ prefixes: filter.eventTypePrefixes });
}

function toProjectedEvent(resolved: PersistentSubscriptionToAllResolvedEvent): ProjectedEvent | undefined {
  const recorded = resolved.event;
  if (!recorded) return undefined;
  const position = recorded.position ?? (resolved.commitPosition !== undefined ? { commit: resolved.commitPosition, prepare: resolved.commitPosition } : undefined);
  if (!position) return undefined;
  return {
    id: recorded.id,
    streamId: recorded.streamId,
    revision: recorded.revision,
    type: recorded.type,
    data: recorded.data,
    metadata: recorded.metadata,
    created: recorded.created,
    position,
  };
}
