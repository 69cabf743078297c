// A handler's persistent-subscription group on $all: created on first start (a catch-up projection
// is built from $all first and the group starts where the build stopped), with the store's own
// parking limit raised to a backstop, since the runner decides parking itself.
import {
  eventTypeFilter,
  PersistentSubscriptionDoesNotExistError,
  PersistentSubscriptionExistsError,
  persistentSubscriptionToAllSettingsFromDefaults,
  START,
  streamNameFilter,
  type Position,
} from "@eventstore/db-client";
import type { Logger } from "pino";
import { catchUp } from "./catch-up";
import type { Projection } from "./projector-checkpoint";
import { groupName, isReactor, type ProjectorOptions, type Reactor } from "./projector-types";

/**
 * The group's maxRetryCount: the store parks an event on its own after this many deliveries. The
 * runner parks on purpose long before, after `maxRetries` failures of the projection's own code.
 * Deliveries that are nobody's fault (a runner that waited out an outage past the store's message
 * timeout, a dropped connection) also count at the store, so its limit is only a backstop against
 * a crash loop, never what decides that an event is parked.
 */
export const STORE_PARKING_BACKSTOP = 10_000;
export class SubscriptionGroup {
  constructor(
    private readonly handler: Projection | Reactor,
    private readonly options: ProjectorOptions,
    private readonly log: Logger,
    private readonly shouldStop: () => boolean,
  ) {}

  async groupExists(): Promise<boolean> {
    try {
      await this.options.client.getPersistentSubscriptionToAllInfo(groupName(this.handler));
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
    this.options.observer?.state(this.handler.name, "catching_up");
    this.log.info("building by catch-up from $all");
    let reported = 0;
    const result = await catchUp({
      client: this.options.client,
      db: this.options.db,
      projection,
      onFailure: "stop",
      shouldStop: this.shouldStop,
      onProgress: (progress) => {
        this.options.observer?.applied(this.handler.name, progress.applied - reported, progress.position);
        reported = progress.applied;
      },
      onFailedEvent: (event, error) => this.log.warn({ err: error, position: event.position.commit }, "catch-up stops before a failing event; the live group retries it"),
    });
    if (result.stopped) return undefined;
    this.log.info({ scanned: result.scanned, applied: result.applied }, "catch-up build reached the end of $all; going live");
    const from = result.failed ? result.checkpoint : result.scannedTo ?? result.checkpoint;
    return from ?? "start";
  }

  /** Creates the handler's group if it does not exist (building a catch-up projection first). */
  async ensure(): Promise<void> {
    let startFrom: Position | typeof START = START;
    if (!isReactor(this.handler) && this.handler.build === "catch-up" && !(await this.groupExists())) {
      const builtTo = await this.buildByCatchUp(this.handler);
      if (builtTo === undefined) return;
      if (builtTo !== "start") startFrom = builtTo;
    }
    const settings = persistentSubscriptionToAllSettingsFromDefaults({
      startFrom,
      maxRetryCount: STORE_PARKING_BACKSTOP,
      // One consumer per projection: the checkpoint skips what is behind it, which is only right
      // when events are applied in $all order. Other replicas stand by and take over on failure.
      maxSubscriberCount: isReactor(this.handler) ? 0 : 1,
    });
    const filter = toStoreFilter(this.handler);
    try {
      await this.options.client.createPersistentSubscriptionToAll(groupName(this.handler), settings, { filter });
      this.log.info({ group: groupName(this.handler) }, "created subscription group");
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
    const group = groupName(this.handler);
    const info = await this.options.client.getPersistentSubscriptionToAllInfo(group);
    if (info.settings.maxRetryCount >= STORE_PARKING_BACKSTOP) return;
    await this.options.client.updatePersistentSubscriptionToAll(group, { ...info.settings, maxRetryCount: STORE_PARKING_BACKSTOP });
    this.log.info({ group, from: info.settings.maxRetryCount, to: STORE_PARKING_BACKSTOP }, "raised the store's parking limit of the group to a backstop; the runner parks on purpose");
  }
}

function toStoreFilter(projection: Pick<Projection, "filter">) {
  const filter = projection.filter;
  return "streamPrefixes" in filter
    ? streamNameFilter({ prefixes: filter.streamPrefixes })
    : eventTypeFilter({ prefixes: filter.eventTypePrefixes });
}
