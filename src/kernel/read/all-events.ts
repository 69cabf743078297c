// Reading $all as projections see it: pages of events, the head position, the filter rule the
// store applies to a projection's group, and the one conversion from the client's events.
import { BACKWARDS, END, FORWARDS, START, StreamNotFoundError, type EventStoreDBClient, type Position, type ResolvedEvent } from "@eventstore/db-client";
import type { ProjectedEvent, ProjectionFilter } from "./projector-checkpoint";

/**
 * Up to `maxCount` events of $all from `from` (inclusive), read to the end of the call: leaving
 * a read stream early would cancel it, and not every server ends a cancelled call promptly.
 */
export async function readPage(client: EventStoreDBClient, from: Position | undefined, maxCount: number): Promise<ResolvedEvent[]> {
  const events: ResolvedEvent[] = [];
  for await (const resolved of client.readAll({ fromPosition: from ?? START, maxCount, direction: FORWARDS, resolveLinkTos: false })) {
    events.push(resolved);
  }
  return events;
}

/** Position of the last event in $all, or undefined when it is empty. */
export async function headPosition(client: EventStoreDBClient): Promise<Position | undefined> {
  let position: Position | undefined;
  for await (const resolved of client.readAll({ fromPosition: END, maxCount: 1, direction: BACKWARDS })) position = resolved.event?.position;
  return position;
}

/** The same prefix rule the store applies to a projection's subscription group. System streams never match. */
export function matchesFilter(filter: ProjectionFilter, event: Pick<ProjectedEvent, "streamId" | "type">): boolean {
  if (event.streamId.startsWith("$")) return false;
  return "streamPrefixes" in filter
    ? filter.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix))
    : filter.eventTypePrefixes.some((prefix) => event.type.startsWith(prefix));
}

/**
 * An event as projections, reactors and the publisher see it, from any read or subscription of
 * the client (a persistent subscription's delivery included); undefined when it carries no event
 * or no position (e.g. a link to a deleted event). A delivery without the event's own position
 * falls back to the commit position it came with.
 */
export function toProjectedEvent(resolved: Pick<ResolvedEvent, "event" | "commitPosition">): ProjectedEvent | undefined {
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

/**
 * A replayed parked event arrives through its link in the parked stream and carries the link's
 * position (as EventStoreDB sends it). The checkpoint and the retry mark are keyed by the
 * original's position, so read that from the event's own stream; without it the replay would
 * look already applied and be skipped.
 */
export async function withOriginalPosition(client: EventStoreDBClient, event: ProjectedEvent | undefined, resolved: Pick<ResolvedEvent, "link">): Promise<ProjectedEvent | undefined> {
  if (!event || !resolved.link) return event;
  try {
    for await (const original of client.readStream(event.streamId, { fromRevision: event.revision, maxCount: 1 })) {
      if (original.event?.id === event.id && original.event.position) return { ...event, position: original.event.position };
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return event;
}
