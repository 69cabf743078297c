// What an operator sees of the publisher: who leads, where the checkpoint is, how far behind $all
// it is (counted like a projection's lag), what is parked; the same figures on /metrics. Parked
// events are replayed from here too.
import type { EventStoreDBClient } from "@eventstore/db-client";
import { Counter, Gauge, type Registry } from "prom-client";
import { toProjectedEvent } from "../read/all-events";
import { countLag, DEFAULT_LAG_COUNT_LIMIT } from "../read/projection-status";
import type { ProjectedEvent } from "../read/projector-checkpoint";
import type { Broker } from "./broker";
import type { ContextMapping } from "./mapping";
import { publishMessage } from "./publish";
import { firstEventReader, type PublisherObserver, type PublisherState } from "./publisher";
import { listParked, readLeader, readPublisherCheckpoint, unpark } from "./state";

export interface PublisherStatus {
  leader?: string;
  leaseExpiresInMs?: number;
  checkpoint?: bigint;
  lagEvents: number;
  lagCapped: boolean;
  lagMs: number;
  parked: number;
}

export async function readPublisherStatus(client: EventStoreDBClient, broker: Broker, mappings: readonly ContextMapping[], now = new Date()): Promise<PublisherStatus> {
  const leader = await readLeader(broker.state);
  const { position } = await readPublisherCheckpoint(broker.state);
  const filter = { streamPrefixes: mappings.map((m) => m.streamPrefix) };
  const lag = await countLag(client, { filter }, position, DEFAULT_LAG_COUNT_LIMIT, now);
  return {
    leader: leader?.owner,
    leaseExpiresInMs: leader ? leader.until - now.getTime() : undefined,
    checkpoint: position?.commit,
    ...lag,
    parked: (await listParked(broker.state)).length,
  };
}

export function formatPublisherStatus(stream: string, status: PublisherStatus): string {
  const leader = status.leader ? `${status.leader} (lease ${status.leaseExpiresInMs! > 0 ? `${status.leaseExpiresInMs} ms left` : "expired"})` : "none";
  const lag = `${status.lagCapped ? "≥" : ""}${status.lagEvents} events, ${status.lagMs} ms`;
  return `publisher → ${stream}: leader ${leader}; checkpoint ${status.checkpoint ?? "(start)"}; lag ${lag}; parked ${status.parked}`;
}

/** Counters fed by the runtime, gauges measured at scrape time. */
export function publisherMetrics(registry: Registry, read: () => Promise<PublisherStatus>): PublisherObserver {
  const published = new Counter({ name: "publisher_messages_published_total", help: "Integration messages JetStream acknowledged", registers: [registry] });
  const retried = new Counter({ name: "publisher_mapping_retries_total", help: "Mapping attempts retried after a throw", registers: [registry] });
  const parked = new Counter({ name: "publisher_parked_total", help: "Events parked after their mapping's last attempt", registers: [registry] });
  const duplicates = new Counter({ name: "publisher_duplicates_dropped_total", help: "Re-published messages JetStream dropped by Nats-Msg-Id", registers: [registry] });
  const leading = new Gauge({ name: "publisher_leading", help: "1 while this replica holds the lease and publishes", registers: [registry] });
  const backingOff = new Gauge({ name: "publisher_backing_off", help: "1 while the broker or store is failing and the publisher waits to retry", registers: [registry] });
  let measuring: Promise<PublisherStatus> | undefined;
  const measureOnce = () => (measuring ??= read().finally(() => setImmediate(() => (measuring = undefined))));
  new Gauge({
    name: "publisher_lag_events",
    help: `Events in $all after the publisher's checkpoint that it will publish (counted up to ${DEFAULT_LAG_COUNT_LIMIT})`,
    registers: [registry],
    async collect() {
      this.set((await measureOnce()).lagEvents);
    },
  });
  new Gauge({
    name: "publisher_lag_milliseconds",
    help: "Age of the oldest event not yet published (0 when caught up)",
    registers: [registry],
    async collect() {
      this.set((await measureOnce()).lagMs);
    },
  });
  return {
    state(state: PublisherState) {
      leading.set(state === "publishing" ? 1 : 0);
      backingOff.set(state === "backing_off" ? 1 : 0);
    },
    published: (count) => published.inc(count),
    duplicate: () => duplicates.inc(),
    retried: () => retried.inc(),
    parked: () => parked.inc(),
  };
}

export interface ReplayResult {
  published: number;
  /** Still failing: left parked. */
  failed: { eventId: string; error: string }[];
}

/** Maps and publishes every parked event again (same Nats-Msg-Id); unparks those that went out. */
export async function replayParked(client: EventStoreDBClient, broker: Broker, stream: string, subjectPrefix: string, mappings: readonly ContextMapping[]): Promise<ReplayResult> {
  const result: ReplayResult = { published: 0, failed: [] };
  const readFirst = firstEventReader(client, 1_000);
  for (const parked of await listParked(broker.state)) {
    try {
      const event = await readEvent(client, parked.streamId, BigInt(parked.revision));
      const mapping = mappings.find((m) => event.streamId.startsWith(m.streamPrefix));
      if (!mapping) throw new Error(`no mapping for stream ${event.streamId}`);
      const outcome = await mapping.map(event, readFirst, subjectPrefix);
      if (outcome.kind === "publish") await publishMessage(broker.js, stream, outcome.subject, outcome.message, event, 10_000);
      await unpark(broker.state, parked);
      result.published += outcome.kind === "publish" ? 1 : 0;
    } catch (error) {
      result.failed.push({ eventId: parked.eventId, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return result;
}

async function readEvent(client: EventStoreDBClient, streamId: string, revision: bigint): Promise<ProjectedEvent> {
  let found: ProjectedEvent | undefined;
  for await (const resolved of client.readStream(streamId, { fromRevision: revision, maxCount: 1 })) found ??= toProjectedEvent(resolved);
  if (!found || found.revision !== revision) throw new Error(`event ${streamId}@${revision} not found`);
  return found;
}
