// Snapshot streams: the latest state of an aggregate, stored beside its event stream so a load
// reads one snapshot and the events after it instead of the whole history.
import { BACKWARDS, END, jsonEvent, type EventStoreDBClient, type JSONType } from "@eventstore/db-client";
import { readStreamEvents } from "./stream-reads";

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

export interface Snapshot<State> {
  state: State;
  /** Revision of the last event the state includes. */
  revision: bigint;
}

interface SnapshotLogger {
  error(details: object, message: string): void;
  warn(details: object, message: string): void;
}

const SNAPSHOT_REVISION_PATTERN = /^\d+$/;

export class SnapshotStore<State> {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly codec: SnapshotCodec<State>,
    /** Write a snapshot whenever an append crosses a multiple of this many events; 0 disables. */
    private readonly every: number,
    private readonly logger?: SnapshotLogger,
  ) {}

  async read(stream: string): Promise<Snapshot<State> | undefined> {
    const { events } = await readStreamEvents(this.client, stream, { fromRevision: END, direction: BACKWARDS, maxCount: 1 });
    const recorded = events[0];
    if (!recorded || !recorded.isJson || recorded.type !== this.codec.type) return undefined;
    const metadata = recorded.metadata as { revision?: unknown; schemaVersion?: unknown } | undefined;
    if (metadata?.schemaVersion !== this.codec.schemaVersion) return undefined;
    if (typeof metadata.revision !== "string" || !SNAPSHOT_REVISION_PATTERN.test(metadata.revision)) return undefined;
    try {
      return { state: this.codec.decode(recorded.data), revision: BigInt(metadata.revision) };
    } catch (error) {
      this.logger?.warn({ err: error, stream }, "unreadable snapshot ignored; replaying the full stream");
      return undefined;
    }
  }

  /**
   * Writes a snapshot of `state` (at `after`) when the append that moved the stream from `before`
   * crossed a multiple of `every`. Off the command's critical path: a failed snapshot only costs a
   * longer replay later.
   */
  afterAppend(stream: string, state: State, before: bigint | undefined, after: bigint): void {
    const every = BigInt(this.every);
    if (every === 0n) return;
    const countBefore = before === undefined ? 0n : before + 1n;
    if ((after + 1n) / every === countBefore / every) return;
    const write: Promise<void> = Promise.resolve()
      .then(() => this.write(stream, state, after))
      .catch((error: unknown) => this.logger?.error({ err: error, stream }, "snapshot write failed"))
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Resolves once every snapshot write started so far has finished (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async write(stream: string, state: State, revision: bigint): Promise<void> {
    const data = this.codec.encode(state);
    if (data === undefined) return;
    const metadata = { revision: revision.toString(), schemaVersion: this.codec.schemaVersion };
    const result = await this.client.appendToStream(stream, jsonEvent({ type: this.codec.type, data, metadata }));
    // Only the latest snapshot matters; the store may scavenge older ones.
    if (result.nextExpectedRevision === 0n) await this.client.setStreamMetadata(stream, { maxCount: 1 });
  }
}
