// The embedded store's internal contract: an append-only log of streams with a global
// ($all) order. The gRPC services (Streams, PersistentSubscriptions) are written against
// this interface only; the SQLite implementation lives beside it.

/** Event as stored: everything the gRPC layer needs to build a ReadResp.ReadEvent.RecordedEvent. */
export interface StoredEvent {
  /** $all position; strictly increasing across the whole log. Used as commit and prepare position. */
  position: bigint;
  streamId: string;
  /** 0-based revision within its stream. */
  revision: bigint;
  /** UUID string (lower-case, dashed). */
  id: string;
  type: string;
  /** "application/json" or "application/octet-stream". */
  contentType: string;
  data: Uint8Array;
  /** The user's (custom) metadata bytes, as appended. */
  metadata: Uint8Array;
  /** Creation time in .NET ticks since the Unix epoch (ms * 10_000). */
  created: bigint;
}

export interface ProposedEvent {
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  metadata: Uint8Array;
}

export type ExpectedRevision =
  | { kind: "any" }
  | { kind: "no_stream" }
  | { kind: "stream_exists" }
  | { kind: "exact"; revision: bigint };

export type AppendOutcome =
  | {
      ok: true;
      /** Revision of the last event written (or the current revision for an idempotent/empty append). */
      revision: bigint;
      /** $all position of the last event written (or of the stream's last event when nothing was written). */
      position: bigint;
    }
  | {
      ok: false;
      reason: "wrong_expected_version";
      /** Current revision, or null when the stream does not exist (or is soft-deleted and empty). */
      currentRevision: bigint | null;
    }
  | { ok: false; reason: "stream_deleted" /* tombstoned */ };

export type ReadStart = bigint | "start" | "end";
export type Direction = "forwards" | "backwards";

export interface EventFilter {
  on: "stream" | "event_type";
  /** Either prefixes (any matches) or one regex. */
  prefixes?: string[];
  regex?: RegExp;
}

export type StreamRead =
  | { kind: "ok"; events: ReadEvent[] }
  | { kind: "not_found" }
  | { kind: "deleted" /* tombstoned */ };

export interface ReadStreamOptions {
  from: ReadStart;
  direction: Direction;
  maxCount: bigint;
  /** Replace "$>" link events by the event they point to (the link is kept as `link`). */
  resolveLinks?: boolean;
}

export interface ReadAllOptions {
  /** Exclusive of nothing: "start", "end" or a position to start from (inclusive when forwards). */
  from: ReadStart;
  direction: Direction;
  maxCount: bigint;
  filter?: EventFilter;
  resolveLinks?: boolean;
  /** Stop after examining this many events even if fewer than maxCount matched (filtered reads). */
  maxScan?: number;
}

/** A read result entry: the event, and when it was reached through a link, the link itself. */
export interface ReadEvent {
  event: StoredEvent;
  link?: StoredEvent;
  /**
   * Set when links were to be resolved and `event` is a link whose target is gone (deleted, truncated,
   * unparsable): EventStoreDB then sends the link alone, with no event.
   */
  unresolvedLink?: true;
}

export interface ReadAllResult {
  events: ReadEvent[];
  /** Last position examined, for filtered checkpoints (null when nothing was examined). */
  lastScanned: bigint | null;
  /** How many events were examined (matched or not). */
  scanned: number;
}

export interface EventLog {
  /**
   * Appends atomically with optimistic concurrency. Resolves only once the write is durable
   * (group-committed with other concurrent appends). Idempotent for a retried batch with the
   * same event ids at the same expected revision, as EventStoreDB is.
   */
  append(streamId: string, expected: ExpectedRevision, events: ProposedEvent[]): Promise<AppendOutcome>;
  /**
   * Reads one stream, honouring stream metadata ($maxCount, $maxAge, $tb) and soft deletion.
   */
  readStream(streamId: string, options: ReadStreamOptions): StreamRead;
  /**
   * Reads $all in position order. As in EventStoreDB, $all shows every event written (stream metadata
   * and deletion only change reads of the stream itself; EventStoreDB drops such events at scavenge).
   */
  readAll(options: ReadAllOptions): ReadAllResult;
  /** Position of the last committed event, or -1n when empty. */
  lastPosition(): bigint;
  /** Current revision of a stream (soft-deleted streams keep theirs), or null when it never existed or is tombstoned. */
  streamRevision(streamId: string): bigint | null;
  /** Soft delete ($tb metadata) or hard delete (tombstone). */
  deleteStream(streamId: string, expected: ExpectedRevision, hard: boolean): Promise<AppendOutcome>;
  /** Called after every durable commit with its events in position order. Returns an unsubscribe function. */
  onCommitted(listener: (events: StoredEvent[]) => void): () => void;
  close(): Promise<void>;
}
