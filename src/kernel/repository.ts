// Aggregate repository: loads an aggregate from its latest snapshot plus the events after
// it, runs a decider, and appends the resulting events with optimistic concurrency.
import { setTimeout as sleep } from "node:timers/promises";
import type { DescMessage, Message } from "@bufbuild/protobuf";
import {
  BACKWARDS,
  END,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  jsonEvent,
  type EventStoreDBClient,
  type JSONType,
  type ReadRevision,
  type ReadStreamOptions,
  type RecordedEvent,
} from "@eventstore/db-client";
import { EventCodec, type EventMetadata } from "./event-codec";
import type { Decider } from "./decider";

/** How a state is stored in (and restored from) its snapshot stream. */
export interface SnapshotCodec<State> {
  /** Event type of the snapshot records. */
  type: string;
  /** Bump when the encoding changes: snapshots of another version are ignored (full replay). */
  schemaVersion: number;
  /** The snapshot's JSON data, or undefined when the state is not worth a snapshot. */
  encode(state: State): JSONType | undefined;
  /** Throws on data it cannot read (the snapshot is then ignored). */
  decode(data: unknown): State;
}

export interface AggregateDefinition<State, Command, Event extends Message> {
  /** Stream category: events live in "<category>-<id>", snapshots in "<category>_snapshot-<id>". */
  category: string;
  decider: Decider<State, Command, Event>;
  /** Contract messages of every event type the decider emits. */
  events: readonly DescMessage[];
  snapshot?: SnapshotCodec<State>;
}

export interface RepositoryOptions {
  /** Write a snapshot whenever an append crosses a multiple of this many events; 0 disables. */
  snapshotEvery: number;
  /** Re-load and re-decide this many times when another writer got there first. */
  maxConflictRetries: number;
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

/** The stream was not at the revision the command was decided on. */
export class RevisionConflictError extends Error {
  override readonly name = "RevisionConflictError";

  constructor(
    readonly streamName: string,
    /** undefined: the command expected the stream not to exist. */
    readonly expectedRevision: bigint | undefined,
    /** undefined: the stream does not exist. */
    readonly actualRevision: bigint | undefined,
  ) {
    super(
      `stream ${streamName} is at revision ${actualRevision ?? "none"}, expected ${expectedRevision ?? "no stream"}`,
    );
  }
}

const SNAPSHOT_REVISION_PATTERN = /^\d+$/;
const CONFLICT_BACKOFF_BASE_MS = 2;
const CONFLICT_BACKOFF_CAP_MS = 100;

export class AggregateRepository<State, Command, Event extends Message> {
  private readonly codec: EventCodec;
  private readonly descByType: Map<string, DescMessage>;
  private readonly pendingSnapshots = new Set<Promise<void>>();
  /** Per stream: the tail of the commands queued on it in this process. */
  private readonly commandQueues = new Map<string, Promise<void>>();

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly definition: AggregateDefinition<State, Command, Event>,
    private readonly options: RepositoryOptions,
  ) {
    this.codec = new EventCodec(definition.events);
    this.descByType = new Map(definition.events.map((desc) => [desc.typeName, desc]));
  }

  streamName(id: string): string {
    return `${this.definition.category}-${id}`;
  }

  snapshotStreamName(id: string): string {
    return `${this.definition.category}_snapshot-${id}`;
  }

  async load(id: string): Promise<LoadedAggregate<State>> {
    const snapshot = await this.readSnapshot(id);
    let state = snapshot?.state ?? this.definition.decider.initialState();
    let revision = snapshot?.revision;
    let eventsRead = 0;
    const fromRevision: ReadRevision = snapshot ? snapshot.revision + 1n : START;
    for (const recorded of await this.read(this.streamName(id), { fromRevision, direction: FORWARDS })) {
      if (!recorded.isJson) throw new Error(`event ${recorded.id} in ${recorded.streamId} is not JSON`);
      const event = this.codec.decode(recorded.type, recorded.data).message as Event;
      state = this.definition.decider.evolve(state, event);
      revision = recorded.revision;
      eventsRead++;
    }
    return { state, revision, snapshotRevision: snapshot?.revision, eventsRead };
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
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.load(id);
      if (options.expectedRevision !== undefined && loaded.revision !== options.expectedRevision) {
        throw new RevisionConflictError(stream, options.expectedRevision, loaded.revision);
      }
      const events = this.definition.decider.decide(command, loaded.state);
      if (events.length === 0) {
        return { state: loaded.state, events, revision: loaded.revision, commitPosition: undefined };
      }
      try {
        const result = await this.client.appendToStream(
          stream,
          events.map((event) => this.encode(event, options.metadata)),
          { expectedRevision: loaded.revision ?? NO_STREAM },
        );
        const state = events.reduce((s, e) => this.definition.decider.evolve(s, e), loaded.state);
        this.maybeSnapshot(id, state, loaded.revision, result.nextExpectedRevision);
        return { state, events, revision: result.nextExpectedRevision, commitPosition: result.position?.commit };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        const actual = typeof error.actualVersion === "bigint" ? error.actualVersion : undefined;
        if (options.expectedRevision !== undefined || attempt >= this.options.maxConflictRetries) {
          throw new RevisionConflictError(stream, loaded.revision, actual);
        }
        // Spread the retries of writers that collided so they don't collide again in lockstep:
        // full jitter over a window that doubles per attempt (2, 4, ... capped at 100 ms), wide
        // enough for dozens of writers on one stream to take turns within the retry budget.
        await sleep(Math.random() * Math.min(CONFLICT_BACKOFF_CAP_MS, CONFLICT_BACKOFF_BASE_MS * 2 ** attempt));
      }
    }
  }

  /** Resolves once every snapshot write started so far has finished (tests, shutdown). */
  async flushSnapshots(): Promise<void> {
    while (this.pendingSnapshots.size > 0) await Promise.all([...this.pendingSnapshots]);
  }

  private encode(event: Event, metadata: EventMetadata) {
    const desc = this.descByType.get(event.$typeName);
    if (!desc) throw new Error(`${this.definition.category} decider emitted unregistered event ${event.$typeName}`);
    return this.codec.encode(desc, event as never, metadata);
  }

  private maybeSnapshot(id: string, state: State, before: bigint | undefined, after: bigint): void {
    const every = BigInt(this.options.snapshotEvery);
    const codec = this.definition.snapshot;
    if (!codec || every === 0n) return;
    const countBefore = before === undefined ? 0n : before + 1n;
    if ((after + 1n) / every === countBefore / every) return;
    // Off the command's critical path: a failed snapshot only costs a longer replay later.
    const write: Promise<void> = Promise.resolve()
      .then(() => this.writeSnapshot(id, codec, state, after))
      .catch((error: unknown) => {
        this.options.logger?.error({ err: error, stream: this.snapshotStreamName(id) }, "snapshot write failed");
      })
      .finally(() => this.pendingSnapshots.delete(write));
    this.pendingSnapshots.add(write);
  }

  private async writeSnapshot(id: string, codec: SnapshotCodec<State>, state: State, revision: bigint): Promise<void> {
    const data = codec.encode(state);
    if (data === undefined) return;
    const stream = this.snapshotStreamName(id);
    const metadata = { revision: revision.toString(), schemaVersion: codec.schemaVersion };
    const result = await this.client.appendToStream(stream, jsonEvent({ type: codec.type, data, metadata }));
    // Only the latest snapshot matters; the store may scavenge older ones.
    if (result.nextExpectedRevision === 0n) await this.client.setStreamMetadata(stream, { maxCount: 1 });
  }

  private async readSnapshot(id: string): Promise<{ state: State; revision: bigint } | undefined> {
    const codec = this.definition.snapshot;
    if (!codec) return undefined;
    const stream = this.snapshotStreamName(id);
    const [recorded] = await this.read(stream, { fromRevision: END, direction: BACKWARDS, maxCount: 1 });
    if (!recorded || !recorded.isJson || recorded.type !== codec.type) return undefined;
    const metadata = recorded.metadata as { revision?: unknown; schemaVersion?: unknown } | undefined;
    if (metadata?.schemaVersion !== codec.schemaVersion) return undefined;
    if (typeof metadata.revision !== "string" || !SNAPSHOT_REVISION_PATTERN.test(metadata.revision)) return undefined;
    try {
      return { state: codec.decode(recorded.data), revision: BigInt(metadata.revision) };
    } catch (error) {
      this.options.logger?.warn({ err: error, stream }, "unreadable snapshot ignored; replaying the full stream");
      return undefined;
    }
  }

  /**
   * Reads a stream to its end ([] when it does not exist). Always drains the read: leaving a
   * for-await early leaves the client's gRPC call open, and client.dispose() then never resolves.
   */
  private async read(stream: string, options: ReadStreamOptions): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(stream, options)) {
        if (resolved.event) events.push(resolved.event);
      }
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    return events;
  }
}
