// Aggregate repository: loads an aggregate from its latest snapshot plus the events after
// it, runs a decider, and appends the resulting events with optimistic concurrency.
//
// States it has loaded or written stay in a bounded in-memory cache (Equinox's cache strategy).
// A load then reads only the events after the cached revision; a command decides on the cached
// state and appends at its revision straight away: the store's expected-revision check is what
// proves the state current, and a stale entry costs one conflict and a catch-up read, never a
// lost update. Anything other than a successful append (a rejection, a no-op) is re-checked
// against the store before it is answered.
import { setTimeout as sleep } from "node:timers/promises";
import type { DescMessage, Message } from "@bufbuild/protobuf";
import {
  BACKWARDS,
  END,
  FORWARDS,
  NO_STREAM,
  START,
  WrongExpectedVersionError,
  type EventStoreDBClient,
  type RecordedEvent,
} from "@eventstore/db-client";
import { LRUCache } from "lru-cache";
import { EventCodec, type EventMetadata } from "./event-codec";
import { RevisionConflictError, type AggregateDefinition } from "./aggregate";
import { SnapshotStore, type Snapshot } from "./snapshots";

export { RevisionConflictError, type AggregateDefinition } from "./aggregate";
import { readStreamEvents } from "./stream-reads";

export interface RepositoryOptions {
  /**
   * Write a snapshot whenever an append crosses a multiple of this many events; 0 disables. A cold
   * load reads the snapshot and the stream's last `snapshotEvery` events at once.
   */
  snapshotEvery: number;
  /** Re-load and re-decide this many times when another writer got there first. */
  maxConflictRetries: number;
  /** Aggregate states kept in memory (least recently used go first); 0 or absent: no cache. */
  cacheSize?: number;
  logger?: { error(details: object, message: string): void; warn(details: object, message: string): void };
}

export interface LoadedAggregate<State> {
  state: State;
  /** Revision of the stream's last event; undefined when the stream does not exist. */
  revision: bigint | undefined;
  /** Revision covered by the snapshot the load started from, if any. */
  snapshotRevision: bigint | undefined;
  /** Number of events read from the aggregate's stream (after the snapshot). */
  eventsRead: number;
}

export interface HandleOptions {
  metadata: EventMetadata;
  /** When set, a stream at any other revision fails with RevisionConflictError (no retry). */
  expectedRevision?: bigint;
}

export interface HandleResult<State, Event> {
  state: State;
  events: Event[];
  /** Stream revision after the append (unchanged when the decision produced no events). */
  revision: bigint | undefined;
  /** $all commit position of the append; undefined when nothing was appended. */
  commitPosition: bigint | undefined;
}

const CONFLICT_BACKOFF_BASE_MS = 2;
const CONFLICT_BACKOFF_CAP_MS = 100;

/** An aggregate's state at a revision of its stream (undefined revision: no stream yet). */
interface Known<State> {
  state: State;
  revision: bigint | undefined;
}

export class AggregateRepository<State, Command, Event extends Message> {
  private readonly codec: EventCodec;
  private readonly descByType: Map<string, DescMessage>;
  private readonly snapshots: SnapshotStore<State> | undefined;
  private readonly cache: LRUCache<string, Known<State>> | undefined;
  /** Per stream: the tail of the commands queued on it in this process. */
  private readonly commandQueues = new Map<string, Promise<void>>();

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly definition: AggregateDefinition<State, Command, Event>,
    private readonly options: RepositoryOptions,
  ) {
    this.codec = new EventCodec(definition.events);
    this.descByType = new Map(definition.events.map((desc) => [desc.typeName, desc]));
    const codec = definition.snapshot;
    this.snapshots = codec ? new SnapshotStore(client, codec, options.snapshotEvery, options.logger) : undefined;
    const cacheSize = options.cacheSize ?? 0;
    this.cache = cacheSize > 0 ? new LRUCache({ max: cacheSize }) : undefined;
  }

  streamName(id: string): string {
    return this.definition.stream.streamName(id);
  }

  snapshotStreamName(id: string): string {
    return this.definition.stream.snapshotStreamName(id);
  }

  /** The aggregate as the store has it now: from the cache or the snapshot, plus the events after it. */
  async load(id: string): Promise<LoadedAggregate<State>> {
    const stream = this.streamName(id);
    const cached = this.cache?.get(stream);
    if (cached) {
      const caughtUp = await this.catchUp(id, cached);
      if (caughtUp) return { ...caughtUp, snapshotRevision: undefined };
    }
    if (this.snapshots && this.options.snapshotEvery > 0) return this.loadFromSnapshotAndTail(id, this.options.snapshotEvery);
    return this.loadInOrder(id);
  }

  /** Snapshot first, then the events after it: two round trips, whatever the tail's length. */
  private async loadInOrder(id: string): Promise<LoadedAggregate<State>> {
    return this.readOnFrom(id, await this.snapshots?.read(this.snapshotStreamName(id)));
  }

  /**
   * The snapshot and the stream's last `page` events, read at the same time. While snapshots keep
   * up (one per `page` events), the events after the snapshot are among them, so a cold load costs
   * one round trip instead of two. Otherwise (a snapshot write failed or is still under way, a long
   * stream without one, a deleted stream with one) the load reads on from the snapshot in order.
   */
  private async loadFromSnapshotAndTail(id: string, page: number): Promise<LoadedAggregate<State>> {
    const [snapshot, tail] = await Promise.all([
      this.snapshots!.read(this.snapshotStreamName(id)),
      readStreamEvents(this.client, this.streamName(id), { fromRevision: END, direction: BACKWARDS, maxCount: page }),
    ]);
    if (!tail.found && !snapshot) return { ...this.remember(id, this.initial(), []), snapshotRevision: undefined };
    const events = tail.events.reverse();
    const oldest = events[0]?.revision;
    if (oldest !== undefined && snapshot && snapshot.revision + 1n >= oldest) {
      const loaded = this.remember(id, snapshot, events.filter((event) => event.revision > snapshot.revision));
      return { ...loaded, snapshotRevision: snapshot.revision };
    }
    if (oldest === 0n && !snapshot) return { ...this.remember(id, this.initial(), events), snapshotRevision: undefined };
    return this.readOnFrom(id, snapshot);
  }

  /** `snapshot` (or the initial state) plus every event after it, read in order. */
  private async readOnFrom(id: string, snapshot: Snapshot<State> | undefined): Promise<LoadedAggregate<State>> {
    const base: Known<State> = snapshot ?? this.initial();
    const loaded = await this.catchUp(id, base);
    if (!loaded) return { ...base, snapshotRevision: undefined, eventsRead: 0 };
    return { ...loaded, snapshotRevision: snapshot?.revision };
  }

  /**
   * Commands on one aggregate run one after another within this process: concurrent callers
   * would otherwise all read the same revision and all but one retry, again and again, until
   * the retry budget turns them away. Only writers in other processes still conflict (retried).
   */
  handle(id: string, command: Command, options: HandleOptions): Promise<HandleResult<State, Event>> {
    const stream = this.streamName(id);
    const previous = this.commandQueues.get(stream) ?? Promise.resolve();
    const result = previous.then(() => this.handleNow(id, command, options));
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.commandQueues.set(stream, tail);
    void tail.then(() => {
      if (this.commandQueues.get(stream) === tail) this.commandQueues.delete(stream);
    });
    return result;
  }

  private async handleNow(id: string, command: Command, options: HandleOptions): Promise<HandleResult<State, Event>> {
    const stream = this.streamName(id);
    const cached = this.cache?.get(stream);
    /** False while `current` is the cache's word, not yet confirmed by the store. */
    let confirmed = cached === undefined;
    let current: Known<State> = cached ?? (await this.load(id));
    const confirm = async () => {
      current = await this.load(id);
      confirmed = true;
    };
    for (let attempt = 0; ; ) {
      if (options.expectedRevision !== undefined && current.revision !== options.expectedRevision) {
        if (!confirmed) {
          await confirm();
          continue;
        }
        throw new RevisionConflictError(stream, options.expectedRevision, current.revision);
      }
      let events: Event[];
      try {
        events = this.definition.decider.decide(command, current.state);
      } catch (error) {
        if (confirmed) throw error;
        await confirm();
        continue;
      }
      if (events.length === 0) {
        if (!confirmed) {
          await confirm();
          continue;
        }
        return { state: current.state, events, revision: current.revision, commitPosition: undefined };
      }
      try {
        const result = await this.client.appendToStream(
          stream,
          events.map((event) => this.encode(event, options.metadata)),
          { expectedRevision: current.revision ?? NO_STREAM },
        );
        const state = events.reduce((s, e) => this.definition.decider.evolve(s, e), current.state);
        this.cache?.set(stream, { state, revision: result.nextExpectedRevision });
        this.snapshots?.afterAppend(this.snapshotStreamName(id), state, current.revision, result.nextExpectedRevision);
        return { state, events, revision: result.nextExpectedRevision, commitPosition: result.position?.commit };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) {
          // The append may or may not have happened: the next command starts from the store.
          this.cache?.delete(stream);
          throw error;
        }
        const actual = typeof error.actualVersion === "bigint" ? error.actualVersion : undefined;
        if (options.expectedRevision !== undefined) {
          this.cache?.delete(stream);
          throw new RevisionConflictError(stream, current.revision, actual);
        }
        // A stale cache entry is not a race: decide again on the state the store has, at once.
        if (!confirmed) {
          await confirm();
          continue;
        }
        if (attempt >= this.options.maxConflictRetries) {
          this.cache?.delete(stream);
          throw new RevisionConflictError(stream, current.revision, actual);
        }
        // Spread the retries of writers that collided so they don't collide again in lockstep:
        // full jitter over a window that doubles per attempt (2, 4, ... capped at 100 ms), wide
        // enough for dozens of writers on one stream to take turns within the retry budget.
        await sleep(Math.random() * Math.min(CONFLICT_BACKOFF_CAP_MS, CONFLICT_BACKOFF_BASE_MS * 2 ** attempt));
        attempt++;
        await confirm();
      }
    }
  }

  /** Resolves once every snapshot write started so far has finished (tests, shutdown). */
  async flushSnapshots(): Promise<void> {
    await this.snapshots?.flush();
  }

  /**
   * `known` plus the events after it, remembered in the cache. Undefined when the stream is gone
   * although `known` has events (deleted): the caller starts over from the snapshot.
   */
  private async catchUp(id: string, known: Known<State>): Promise<(Known<State> & { eventsRead: number }) | undefined> {
    const stream = this.streamName(id);
    const fromRevision = known.revision === undefined ? START : known.revision + 1n;
    const { events, found } = await readStreamEvents(this.client, stream, { fromRevision, direction: FORWARDS });
    if (!found && known.revision !== undefined) {
      this.cache?.delete(stream);
      return undefined;
    }
    return this.remember(id, known, events);
  }

  /** `known` with `events` (the ones right after it, in order) applied, kept in the cache. */
  private remember(id: string, known: Known<State>, events: readonly RecordedEvent[]): Known<State> & { eventsRead: number } {
    let { state, revision } = known;
    for (const recorded of events) {
      if (!recorded.isJson) throw new Error(`event ${recorded.id} in ${recorded.streamId} is not JSON`);
      const event = this.codec.decode(recorded.type, recorded.data).message as Event;
      state = this.definition.decider.evolve(state, event);
      revision = recorded.revision;
    }
    this.cache?.set(this.streamName(id), { state, revision });
    return { state, revision, eventsRead: events.length };
  }

  private initial(): Known<State> {
    return { state: this.definition.decider.initialState(), revision: undefined };
  }

  private encode(event: Event, metadata: EventMetadata) {
    const desc = this.descByType.get(event.$typeName);
    if (!desc) throw new Error(`${this.definition.stream.category} decider emitted unregistered event ${event.$typeName}`);
    return this.codec.encode(desc, event as never, metadata);
  }
}
