// The projector runtime's vocabulary: what a reactor is, the runner's options and observer, its
// states, the subscription group a handler is served by, and the runtime's timing constants.
import type { EventStoreDBClient, PersistentSubscriptionToAllResolvedEvent } from "@eventstore/db-client";
import type { Logger } from "pino";
import type { ProjectedEvent, Projection, ProjectionFilter } from "./projector-checkpoint";
import type { ReadDb } from "./read-db";

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
  /** Retries of an event the handler's own code fails on, before the runner parks it. */
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

export const MAX_BACKOFF_MS = 30_000;
/** Longest pause between two tries while the infrastructure is down (how soon the runner notices it is back). */
export const MAX_INFRASTRUCTURE_BACKOFF_MS = 5_000;
export const DEFAULT_BUFFER_SIZE = 100;
/** How often a standby replica asks for a projection group another replica holds. */
export const STANDBY_POLL_MS = 500;

export function groupName(handler: Pick<Projection, "name"> | Pick<Reactor, "name" | "kind">): string {
  return "kind" in handler && handler.kind === "reactor" ? `reactor-${handler.name}` : `projection-${handler.name}`;
}

/** One delivery of a persistent subscription to $all. */
export type Delivery = PersistentSubscriptionToAllResolvedEvent;

export function isReactor(handler: Projection | Reactor): handler is Reactor {
  return "kind" in handler && handler.kind === "reactor";
}
