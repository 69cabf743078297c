// The EventLog over SQLite. Writes are queued and group-committed: every append or delete queued in the
// same tick (on disk: everything queued while the previous group's fsync ran) runs in one transaction,
// checked in order against the stream states left by the ones before it, and is acknowledged only once
// that transaction is durable (WAL fsynced, see wal-sync.ts).
import { randomUUID } from "node:crypto";
import type {
  AppendOutcome,
  EventLog,
  ExpectedRevision,
  ProposedEvent,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  StoredEvent,
  StreamRead,
} from "./log";
import { EventTable, nowTicks, openDatabase, type OpenStoreOptions, type StreamState } from "./sqlite-store";

export type { StreamState } from "./sqlite-store";
import { StreamReader } from "./sqlite-reads";
import { StorageFullEpisodes } from "./storage-full";
import { WalSync } from "./wal-sync";
import { FIRST_EVENT_POSITION, positionAfter } from "./log-positions";
import { idempotentOutcome } from "./sqlite-idempotency";
import {
  DELETED_STREAM_REVISION,
  METADATA_EVENT_TYPE,
  TOMBSTONE_EVENT_TYPE,
  isMetastream,
  isSoftDeleted,
  metastreamOf,
  parseStreamMetadata,
  serializeWithTruncateBefore,
  streamOfMetastream,
  type StreamMetadata,
} from "./stream-metadata";

type WriteRequest =
  | { kind: "append"; streamId: string; expected: ExpectedRevision; events: ProposedEvent[] }
  | { kind: "delete"; streamId: string; expected: ExpectedRevision; hard: boolean };

interface QueuedWrite {
  request: WriteRequest;
  resolve(outcome: AppendOutcome): void;
  reject(error: unknown): void;
}

const EMPTY = new Uint8Array(0);
const MAX_CACHED_STREAMS = 100_000;

export class SqliteEventLog implements EventLog {
  private readonly table: EventTable;
  private readonly reader: StreamReader;
  private readonly streams = new Map<string, StreamState>();
  private readonly metadata = new Map<string, StreamMetadata | undefined>();
  private readonly listeners = new Set<(events: StoredEvent[]) => void>();
  private queue: QueuedWrite[] = [];
  private flushScheduled = false;
  /** Where the next record starts in the log, in bytes (see log-positions.ts). */
  private nextPosition: bigint;
  /** The position of the last event written, -1 while the log is empty. */
  private lastWritten: bigint;
  private closed = false;
  /** Present when the log is on disk: acknowledgements wait for the WAL fsync. */
  private readonly walSync: WalSync | undefined;
  private readonly storageFull: StorageFullEpisodes;

  constructor(options: OpenStoreOptions) {
    const onDisk = !options.inMemory && options.dataFile !== undefined;
    this.table = new EventTable(openDatabase({ ...options, synchronous: "NORMAL" }));
    this.storageFull = new StorageFullEpisodes(options.dataFile ?? "memory", options.storageLogger);
    this.walSync = onDisk ? new WalSync(`${options.dataFile}-wal`, () => this.commitQueued()) : undefined;
    const last = this.table.lastEvent();
    this.lastWritten = last?.position ?? -1n;
    this.nextPosition = last ? positionAfter(last) : FIRST_EVENT_POSITION;
    this.reader = new StreamReader(this.table, this);
  }

  append(streamId: string, expected: ExpectedRevision, events: ProposedEvent[]): Promise<AppendOutcome> {
    return this.enqueue({ kind: "append", streamId, expected, events });
  }

  deleteStream(streamId: string, expected: ExpectedRevision, hard: boolean): Promise<AppendOutcome> {
    return this.enqueue({ kind: "delete", streamId, expected, hard });
  }

  readStream(streamId: string, options: ReadStreamOptions): StreamRead {
    return this.reader.readStream(streamId, options);
  }

  readAll(options: ReadAllOptions): ReadAllResult {
    return this.reader.readAll(options);
  }

  lastPosition(): bigint {
    return this.lastWritten;
  }

  streamRevision(streamId: string): bigint | null {
    const state = this.state(streamId);
    return state.tombstoned ? null : state.lastRevision;
  }

  onCommitted(listener: (events: StoredEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    await this.walSync?.idle();
    this.walSync?.close();
    this.listeners.clear();
    this.table.close();
  }

  /** Cached state of a stream (loaded on first use). */
  state(streamId: string): StreamState {
    let state = this.streams.get(streamId);
    if (!state) {
      // Everything cached is derived from the log (this connection sees its own uncommitted writes),
      // so dropping the caches when they grow large is always safe.
      if (this.streams.size >= MAX_CACHED_STREAMS) {
        this.streams.clear();
        this.metadata.clear();
      }
      state = this.table.loadStream(streamId);
      this.streams.set(streamId, state);
    }
    return state;
  }

  /** Current metadata of a stream: the last event of its metastream, parsed. */
  streamMetadata(streamId: string): StreamMetadata | undefined {
    if (this.metadata.has(streamId)) return this.metadata.get(streamId);
    const metastream = metastreamOf(streamId);
    const last = this.state(metastream).lastRevision;
    const event = last === null ? undefined : this.table.eventAt(metastream, last);
    const parsed = event ? parseStreamMetadata(event.data) : undefined;
    this.metadata.set(streamId, parsed);
    return parsed;
  }

  private enqueue(request: WriteRequest): Promise<AppendOutcome> {
    if (this.closed) return Promise.reject(new Error("event log is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    // A running fsync commits the queue when it completes (see WalSync's onSynced).
    if (this.walSync?.busy) return;
    this.commitQueued();
  }

  /** Commits every queued write in one transaction; they are acknowledged once the WAL is fsynced. */
  private commitQueued(): void {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const written: StoredEvent[] = [];
    const outcomes: AppendOutcome[] = [];
    const positionBefore = this.nextPosition;
    const lastWrittenBefore = this.lastWritten;
    try {
      this.table.transaction(() => {
        for (const { request } of batch) outcomes.push(this.apply(request, written));
      });
    } catch (error) {
      // Writes are checked before anything is inserted, so this means the database failed (disk full,
      // I/O error): the whole batch is rolled back, its callers get the error, and the caches are reset.
      this.streams.clear();
      this.metadata.clear();
      this.nextPosition = positionBefore;
      this.lastWritten = lastWrittenBefore;
      this.storageFull.failed(error);
      for (const entry of batch) entry.reject(error);
      return;
    }
    // Only a commit that wrote something proves there is space again.
    if (written.length > 0) this.storageFull.succeeded();
    const acknowledge = (error?: Error) => {
      if (error) {
        this.storageFull.failed(error);
        for (const entry of batch) entry.reject(error);
        return;
      }
      batch.forEach((entry, index) => entry.resolve(outcomes[index]!));
      if (written.length > 0) for (const listener of this.listeners) listener(written);
    };
    if (this.walSync) this.walSync.after(acknowledge);
    else acknowledge();
  }

  private apply(request: WriteRequest, written: StoredEvent[]): AppendOutcome {
    const state = this.state(request.streamId);
    if (state.tombstoned) return { ok: false, reason: "stream_deleted" };
    const softDeleted = !isMetastream(request.streamId) && isSoftDeleted(this.streamMetadata(request.streamId));
    const exists = state.lastRevision !== null && !softDeleted;
    const expected = request.expected;
    if (expected.kind === "stream_exists" && softDeleted) return { ok: false, reason: "stream_deleted" };
    // As in EventStoreDB, a stream with metadata but no events yet counts as existing for stream_exists.
    const existsForExpectation =
      exists || (state.lastRevision === null && !isMetastream(request.streamId) && this.state(metastreamOf(request.streamId)).lastRevision !== null);

    if (request.kind === "append") {
      const accepted =
        expected.kind === "any" ||
        (expected.kind === "no_stream" && !exists) ||
        (expected.kind === "stream_exists" && existsForExpectation) ||
        (expected.kind === "exact" && state.lastRevision === expected.revision);
      if (!accepted) {
        return idempotentOutcome(this.table, request.streamId, expected, request.events, state) ?? {
          ok: false,
          reason: "wrong_expected_version",
          currentRevision: state.lastRevision,
        };
      }
      if (expected.kind === "any") {
        const retried = idempotentOutcome(this.table, request.streamId, expected, request.events, state);
        if (retried) return retried;
      }
      if (request.events.length === 0) {
        return { ok: true, revision: state.lastRevision ?? -1n, position: this.lastPositionOf(request.streamId, state) };
      }
      if (softDeleted) this.recreate(request.streamId, (state.lastRevision ?? -1n) + 1n, written);
      let revision = state.lastRevision ?? -1n;
      for (const proposed of request.events) {
        revision += 1n;
        this.write({ ...proposed, streamId: request.streamId, revision }, written);
      }
      this.setState(request.streamId, {
        lastRevision: revision,
        tombstoned: false,
        lastAppendIds: request.events.map((event) => event.id),
      });
      return { ok: true, revision, position: this.lastWritten };
    }

    const deletable =
      expected.kind === "any" ||
      (expected.kind === "no_stream" && !exists) ||
      (expected.kind === "stream_exists" && exists) ||
      (expected.kind === "exact" && state.lastRevision === expected.revision);
    if (!deletable) return { ok: false, reason: "wrong_expected_version", currentRevision: state.lastRevision };
    if (request.hard) {
      this.write(
        {
          id: randomUUID(),
          type: TOMBSTONE_EVENT_TYPE,
          contentType: "application/json",
          data: EMPTY,
          metadata: EMPTY,
          streamId: request.streamId,
          revision: DELETED_STREAM_REVISION,
        },
        written,
      );
      this.setState(request.streamId, { lastRevision: state.lastRevision, tombstoned: true });
    } else {
      this.writeMetadata(request.streamId, DELETED_STREAM_REVISION, written);
    }
    return { ok: true, revision: state.lastRevision ?? -1n, position: this.lastWritten };
  }

  private lastPositionOf(streamId: string, state: StreamState): bigint {
    if (state.lastRevision === null) return -1n;
    return this.table.eventAt(streamId, state.lastRevision)?.position ?? -1n;
  }

  /** First write to a soft-deleted stream: its metadata keeps everything but now truncates before the new events. */
  private recreate(streamId: string, firstNewRevision: bigint, written: StoredEvent[]): void {
    this.writeMetadata(streamId, firstNewRevision, written);
  }

  private writeMetadata(streamId: string, truncateBefore: bigint, written: StoredEvent[]): void {
    const raw = this.streamMetadata(streamId)?.raw ?? {};
    const metastream = metastreamOf(streamId);
    const revision = (this.state(metastream).lastRevision ?? -1n) + 1n;
    this.write(
      {
        id: randomUUID(),
        type: METADATA_EVENT_TYPE,
        contentType: "application/json",
        data: serializeWithTruncateBefore(raw, truncateBefore),
        metadata: EMPTY,
        streamId: metastream,
        revision,
      },
      written,
    );
    this.setState(metastream, { lastRevision: revision, tombstoned: false });
  }

  private write(event: Omit<StoredEvent, "position" | "created">, written: StoredEvent[]): void {
    const stored: StoredEvent = { ...event, position: this.nextPosition, created: nowTicks() };
    this.table.insert(stored);
    this.lastWritten = stored.position;
    this.nextPosition = positionAfter(stored);
    written.push(stored);
    if (isMetastream(event.streamId)) this.metadata.set(streamOfMetastream(event.streamId), parseStreamMetadata(event.data));
  }

  private setState(streamId: string, state: StreamState): void {
    this.streams.set(streamId, state);
  }
}

export function openSqliteEventLog(options: OpenStoreOptions): SqliteEventLog {
  return new SqliteEventLog(options);
}
