// The publisher runtime: while it holds the leader lease, it follows $all from its checkpoint
// with a catch-up subscription (official client), maps each event of a known context, publishes
// it to JetStream and moves the checkpoint only over acknowledged events. Any broker or store
// failure ends the run: it backs off and starts again from the checkpoint (re-publishes are
// dropped by JetStream's Nats-Msg-Id deduplication), so nothing is skipped and at most
// `maxInFlight` publishes are held in memory.
//
// Order: publishes are pipelined, and each one carries Nats-Expected-Last-Msg-Id = the id of the
// message published before it. JetStream stores a message only if the stream's last message is
// that one, so a message whose predecessor was lost (a write into a dying connection, a rejected
// publish) is refused too, and the run restarts from the checkpoint: the stream holds events in
// $all order, hence every aggregate's events in revision order, whatever the failures. JetStream
// checks duplicates first, so re-publishes after a restart are acknowledged as duplicates.
import { START, excludeSystemEvents, type EventStoreDBClient } from "@eventstore/db-client";
import { LRUCache } from "lru-cache";
import type { Logger } from "pino";
import { toProjectedEvent } from "../read/all-events";
import type { ProjectedEvent } from "../read/projector-checkpoint";
import { backoff } from "../process/backoff";
import { AckedPrefix } from "./acked-prefix";
import type { Broker } from "./broker";
import type { ContextMapping, FirstEventReader, MappingOutcome } from "./mapping";
import { lastMessageId, publishMessage } from "./publish";
import { leaderLease, LostLeadership, parkEvent, readPublisherCheckpoint, writePublisherCheckpoint } from "./state";

export type PublisherState = "starting" | "standby" | "publishing" | "backing_off" | "stopped";

export interface PublisherObserver {
  state(state: PublisherState, detail: string): void;
  published(count: number): void;
  /** JetStream had the message already (a re-publish after a restart or takeover) and dropped it. */
  duplicate(): void;
  retried(): void;
  parked(): void;
}

export interface PublisherOptions {
  client: EventStoreDBClient;
  broker: Broker;
  stream: string;
  subjectPrefix: string;
  mappings: readonly ContextMapping[];
  /** This replica's name in the leader lease. */
  owner: string;
  leaseMs: number;
  maxInFlight: number;
  publishTimeoutMs: number;
  /** Attempts of a throwing mapping before its event is parked. */
  maxRetries: number;
  retryBaseMs: number;
  maxBackoffMs: number;
  checkpointEveryMs: number;
  logger: Logger;
  observer?: PublisherObserver;
}

export interface Publisher {
  readonly state: PublisherState;
  stop(): Promise<void>;
}

export function startPublisher(options: PublisherOptions): Publisher {
  const { broker, logger } = options;
  const lease = leaderLease(broker.state, options.owner, options.leaseMs);
  let state: PublisherState = "starting";
  let stopping = false;
  let wake: (() => void) | undefined;
  let stopRun: (() => void) | undefined;
  const setState = (next: PublisherState, detail = "") => {
    if (next !== state) logger.info({ state: next, detail }, `publisher ${next}`);
    state = next;
    options.observer?.state(next, detail);
  };
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => (clearTimeout(timer), resolve());
    });

  const loop = (async () => {
    let failures = 0;
    while (!stopping) {
      try {
        if (!(await lease.tryAcquire())) {
          setState("standby", "another replica holds the lease");
          await pause(options.leaseMs / 3);
          continue;
        }
        setState("publishing");
        await runAsLeader(options, lease, (stop) => (stopRun = stop));
        failures = 0;
      } catch (error) {
        const delay = backoff(options.retryBaseMs, failures++, options.maxBackoffMs);
        const detail = error instanceof Error ? error.message : String(error);
        logger.warn({ err: error, retryInMs: delay }, "publisher run ended; backing off, then resuming from the checkpoint");
        setState(error instanceof LostLeadership ? "standby" : "backing_off", detail);
        await pause(delay);
      }
    }
    await lease.release().catch(() => undefined);
    setState("stopped");
  })();

  return {
    get state() {
      return state;
    },
    async stop() {
      stopping = true;
      stopRun?.();
      wake?.();
      await loop;
    },
  };
}

async function runAsLeader(options: PublisherOptions, lease: ReturnType<typeof leaderLease>, onStop: (stop: () => void) => void): Promise<void> {
  const { client, broker, logger } = options;
  const checkpoint = await readPublisherCheckpoint(broker.state);
  let previousId = await lastMessageId(broker.jsm, options.stream);
  let revision = checkpoint.revision;
  let written = checkpoint.position;
  const prefix = new AckedPrefix(checkpoint.position);
  const subscription = client.subscribeToAll({ fromPosition: checkpoint.position ?? START, filter: excludeSystemEvents() });
  let failure: unknown;
  const abort = (error: unknown) => {
    failure ??= error;
    void subscription.unsubscribe().catch(() => undefined);
  };
  onStop(() => void subscription.unsubscribe().catch(() => undefined));

  let saving: Promise<void> = Promise.resolve();
  const saveCheckpoint = () =>
    (saving = saving.then(async () => {
      const position = prefix.position;
      if (!position || (written && position.commit === written.commit && position.prepare === written.prepare)) return;
      revision = await writePublisherCheckpoint(broker.state, position, revision);
      written = position;
    }).catch(abort));
  const renewTimer = setInterval(() => void lease.renew().catch(abort), options.leaseMs / 3);
  const saveTimer = setInterval(() => void saveCheckpoint(), options.checkpointEveryMs);
  const inFlight = new Set<Promise<unknown>>();
  const readFirst = firstEventReader(client);
  let duplicates = 0;
  logger.info({ checkpoint: checkpoint.position?.commit.toString() ?? "start" }, "publisher following $all");

  try {
    for await (const resolved of subscription) {
      if (failure) break;
      const event = resolved.event?.position ? toProjectedEvent(resolved) : undefined;
      if (!event) continue;
      const mapping = options.mappings.find((m) => event.streamId.startsWith(m.streamPrefix));
      const outcome = mapping && (await mapOrPark(options, mapping, event, readFirst));
      if (!outcome || outcome.kind === "skip") {
        prefix.passed(event.position);
        continue;
      }
      while (inFlight.size >= options.maxInFlight) await Promise.race(inFlight);
      if (failure) break;
      const acked = prefix.pending(event.position);
      const publishing = publishMessage(broker.js, options.stream, outcome.subject, outcome.message, event, options.publishTimeoutMs, previousId).then(
        (ack) => {
          acked();
          if (ack.duplicate) {
            duplicates++;
            options.observer?.duplicate();
          } else options.observer?.published(1);
        },
        (error: unknown) => abort(error),
      );
      previousId = event.id;
      inFlight.add(publishing);
      void publishing.finally(() => inFlight.delete(publishing));
    }
  } catch (error) {
    abort(error);
  } finally {
    clearInterval(renewTimer);
    clearInterval(saveTimer);
    await Promise.allSettled(inFlight);
    if (!(failure instanceof LostLeadership)) await saveCheckpoint();
  }
  if (failure) throw failure;
  logger.info({ checkpoint: written?.commit.toString(), duplicatesDropped: duplicates }, "publisher stopped following $all");
}

/** Maps an event, retrying a throwing mapping with backoff; parks it after the last attempt. */
async function mapOrPark(options: PublisherOptions, mapping: ContextMapping, event: ProjectedEvent, readFirst: FirstEventReader): Promise<MappingOutcome | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await mapping.map(event, readFirst, options.subjectPrefix);
    } catch (error) {
      if (attempt < options.maxRetries) {
        options.observer?.retried();
        await new Promise((resolve) => setTimeout(resolve, options.retryBaseMs * 2 ** (attempt - 1)));
        continue;
      }
      const message = error instanceof Error ? error.message : String(error);
      options.logger.error({ err: error, eventId: event.id, stream: event.streamId, revision: String(event.revision) }, "mapping failed; event parked");
      await parkEvent(options.broker.state, {
        eventId: event.id,
        streamId: event.streamId,
        revision: String(event.revision),
        type: event.type,
        commit: String(event.position.commit),
        prepare: String(event.position.prepare),
        error: message.slice(0, 2000),
        parkedAt: new Date().toISOString(),
      });
      options.observer?.parked();
      return undefined;
    }
  }
}

/** First events of streams, read once through the client and kept in a bounded cache. */
export function firstEventReader(client: EventStoreDBClient, max = 10_000): FirstEventReader {
  const cache = new LRUCache<string, ProjectedEvent>({ max });
  return async (streamId) => {
    const cached = cache.get(streamId);
    if (cached) return cached;
    let first: ProjectedEvent | undefined;
    // Read to the end of the call (one event): leaving a read early would cancel it.
    for await (const resolved of client.readStream(streamId, { fromRevision: START, maxCount: 1 })) first ??= toProjectedEvent(resolved);
    if (!first) throw new Error(`stream ${streamId} has no events`);
    cache.set(streamId, first);
    return first;
  };
}
