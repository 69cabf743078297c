// One handler's runner: subscribes to its group (standing by while another replica holds it),
// applies deliveries in runs with their checkpoint, hands events its code fails on back for a
// retry and parks them on purpose after maxRetries, and waits out infrastructure failures.
import {
  PersistentSubscriptionMaximumSubscribersReachedError,
  type PersistentSubscriptionToAll,
  type PersistentSubscriptionToAllResolvedEvent,
} from "@eventstore/db-client";
import type { Logger } from "pino";
import { isInfrastructureError } from "../process/infrastructure-errors";
import { readMetadata } from "../write/event-codec";
import { toProjectedEvent, withOriginalPosition } from "./all-events";
import { InfrastructureWait, StopRequested } from "./infrastructure-wait";
import {
  applyDeliveriesWithCheckpoint,
  applyWithCheckpoint,
  markForRetry,
  readCheckpoint,
  RunEventFailed,
  type ProjectedEvent,
  type Projection,
} from "./projector-checkpoint";
import { backoff } from "../process/backoff";
import {
  DEFAULT_BUFFER_SIZE,
  groupName,
  isReactor,
  MAX_BACKOFF_MS,
  MAX_INFRASTRUCTURE_BACKOFF_MS,
  STANDBY_POLL_MS,
  type Delivery,
  type ProjectionObserver,
  type ProjectorOptions,
  type Reactor,
} from "./projector-types";
import { SubscriptionGroup } from "./subscription-group";

export class ProjectionRunner {
  private stopping = false;
  private handling = false;
  /** Failures of the handler's own code per event id (what decides parking); cleared on success or park. */
  private readonly failures = new Map<string, number>();
  private subscription: PersistentSubscriptionToAll | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly log: Logger;
  private readonly group: SubscriptionGroup;
  private readonly infrastructure: InfrastructureWait;

  constructor(
    private readonly projection: Projection | Reactor,
    private readonly options: ProjectorOptions,
  ) {
    this.log = options.logger.child(isReactor(projection) ? { reactor: projection.name } : { projection: projection.name });
    this.group = new SubscriptionGroup(projection, options, this.log, () => this.stopping);
    this.infrastructure = new InfrastructureWait(projection.name, isReactor(projection), this.log, options.observer, options.retryBaseMs, (ms) => this.sleep(ms), () => this.stopping);
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
        await this.group.ensure();
        if (this.stopping) break;
        if (this.infrastructure.waitingSince) {
          // Found down outside an apply (e.g. during a catch-up build): back once it answers.
          if (!isReactor(this.projection)) await readCheckpoint(this.options.db, this.projection.name);
          this.infrastructure.noteRecovered();
        }
        if (!this.infrastructure.waitingSince) this.observer?.state(this.projection.name, "live");
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
          this.infrastructure.noteWaiting(error);
        } else if (!this.stopping) {
          standingBy = false;
          this.log.error({ err: error, attempt }, "subscription dropped; resubscribing");
          this.observer?.state(this.projection.name, "failed", error instanceof Error ? error.message : String(error));
        }
      } finally {
        await this.closeSubscription();
      }
      if (!this.stopping) {
        const pause = standingBy ? STANDBY_POLL_MS : backoff(this.options.retryBaseMs, attempt++, MAX_BACKOFF_MS);
        await this.sleep(this.infrastructure.waitingSince ? Math.min(pause, MAX_INFRASTRUCTURE_BACKOFF_MS) : pause);
      }
    }
    this.observer?.state(this.projection.name, "stopped");
    this.log.info("stopped");
  }

  private get observer(): ProjectionObserver | undefined {
    return this.options.observer;
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
        outcomes = await this.infrastructure.outlast(() => applyDeliveriesWithCheckpoint(this.options.db, projection, events));
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
    const event = await withOriginalPosition(this.options.client, toProjectedEvent(resolved), resolved);
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
      outcome = await this.infrastructure.outlast(async () => {
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
    if (!isReactor(handler)) await this.infrastructure.outlast(() => markForRetry(this.options.db, handler.name, event, error));
    if (willPark) {
      this.failures.delete(event.id);
      this.observer?.parked(this.projection.name);
      // The store parks it on its own once maxRetryCount is exceeded; saying so spares one round.
      await subscription.nack("park", reason, resolved);
      return;
    }
    this.failures.set(event.id, failures);
    this.observer?.retried(this.projection.name);
    if (!this.stopping) await this.sleep(backoff(this.options.retryBaseMs, failures - 1, MAX_BACKOFF_MS));
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
