// SQLite tables of the embedded store and the prepared statements over them. Every integer column
// is read as a bigint (positions, revisions and ticks can exceed 2^53: a tombstone's revision is long.MaxValue).
import type { StorageLogger } from "./storage-full";
import Database from "better-sqlite3";
import type { StoredEvent } from "./log";

export interface OpenStoreOptions {
  dataFile?: string;
  inMemory?: boolean;
  /**
   * FULL: SQLite fsyncs the WAL at every commit. NORMAL: it does not; the caller must fsync the WAL
   * before acknowledging (the event log does, see wal-sync.ts). Default NORMAL.
   */
  synchronous?: "FULL" | "NORMAL";
  /** Where disk-full episodes are reported (default: one line on stderr per episode start and end). */
  storageLogger?: StorageLogger;
}

/** Now in .NET ticks (100 ns) since the Unix epoch, EventStoreDB's "created". */
export function nowTicks(): bigint {
  return BigInt(Date.now()) * 10_000n;
}

/** Durability of an acknowledged write: the WAL is fsynced (fdatasync) after the commit, before the acknowledgement. */
export const DURABILITY = "journal_mode=WAL, synchronous=NORMAL + fdatasync of the WAL before every acknowledgement (= FULL per group commit)";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position     INTEGER PRIMARY KEY,
  stream_id    TEXT    NOT NULL,
  revision     INTEGER NOT NULL,
  event_id     TEXT    NOT NULL,
  type         TEXT    NOT NULL,
  content_type TEXT    NOT NULL,
  data         BLOB    NOT NULL,
  metadata     BLOB    NOT NULL,
  created      INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events (stream_id, revision);
`;

/** A tombstone is the event at this revision (long.MaxValue), as in EventStoreDB. */
const TOMBSTONE_REVISION = 9223372036854775807n;

interface EventRow {
  position: bigint;
  stream_id: string;
  revision: bigint;
  event_id: string;
  type: string;
  content_type: string;
  data: Buffer;
  metadata: Buffer;
  created: bigint;
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    position: row.position,
    streamId: row.stream_id,
    revision: row.revision,
    id: row.event_id,
    type: row.type,
    contentType: row.content_type,
    data: row.data,
    metadata: row.metadata,
    created: row.created,
  };
}

export function openDatabase(options: OpenStoreOptions): Database.Database {
  const db = new Database(options.inMemory || !options.dataFile ? ":memory:" : options.dataFile);
  if (!options.inMemory && options.dataFile) {
    // WAL: a committed transaction is in the WAL file (in the OS page cache at least), so it survives
    // kill -9 of this process; surviving an OS crash or power loss needs the WAL fsynced, which SQLite
    // does per commit under FULL, or the event log does per group of commits under NORMAL.
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous ?? "NORMAL"}`);
  }
  db.exec(SCHEMA);
  return db;
}

/** The statements the log runs; one instance per open database. */
export class EventTable {
  private readonly insertEvent;
  private readonly selectLastRevision;
  private readonly selectForwards;
  private readonly selectBackwards;
  private readonly selectAllForwards;
  private readonly selectAllBackwards;
  private readonly selectAt;
  private readonly selectIds;

  constructor(private readonly db: Database.Database) {
    const cols = "position, stream_id, revision, event_id, type, content_type, data, metadata, created";
    this.insertEvent = db.prepare(
      `INSERT INTO events (${cols}) VALUES (@position, @streamId, @revision, @id, @type, @contentType, @data, @metadata, @created)`,
    );
    this.selectLastRevision = db
      .prepare(`SELECT revision FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 2`)
      .safeIntegers(true);
    this.selectForwards = db
      .prepare(
        `SELECT ${cols} FROM events WHERE stream_id = ? AND revision >= ? AND revision <= ? AND created >= ?
         ORDER BY revision LIMIT ?`,
      )
      .safeIntegers(true);
    this.selectBackwards = db
      .prepare(
        `SELECT ${cols} FROM events WHERE stream_id = ? AND revision <= ? AND revision >= ? AND created >= ?
         ORDER BY revision DESC LIMIT ?`,
      )
      .safeIntegers(true);
    this.selectAllForwards = db
      .prepare(`SELECT ${cols} FROM events WHERE position >= ? ORDER BY position LIMIT ?`)
      .safeIntegers(true);
    this.selectAllBackwards = db
      .prepare(`SELECT ${cols} FROM events WHERE position <= ? ORDER BY position DESC LIMIT ?`)
      .safeIntegers(true);
    this.selectAt = db.prepare(`SELECT ${cols} FROM events WHERE stream_id = ? AND revision = ?`).safeIntegers(true);
    this.selectIds = db
      .prepare(`SELECT event_id FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?`)
      .safeIntegers(true);
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  insert(event: StoredEvent): void {
    this.insertEvent.run(event);
  }

  /** A stream's state from its last two revisions (the last may be a tombstone). */
  loadStream(streamId: string): { lastRevision: bigint | null; tombstoned: boolean } {
    const revisions = (this.selectLastRevision.all(streamId) as { revision: bigint }[]).map((row) => row.revision);
    const tombstoned = revisions[0] === TOMBSTONE_REVISION;
    const live = tombstoned ? revisions[1] : revisions[0];
    return { lastRevision: live ?? null, tombstoned };
  }

  /** The event with the highest position, if any. */
  lastEvent(): StoredEvent | undefined {
    return this.readAllBackwards(2n ** 63n - 1n, 1)[0];
  }

  readForwards(streamId: string, from: bigint, to: bigint, createdAtLeast: bigint, limit: bigint): StoredEvent[] {
    return (this.selectForwards.all(streamId, from, to, createdAtLeast, limit) as EventRow[]).map(toStoredEvent);
  }

  readBackwards(streamId: string, from: bigint, downTo: bigint, createdAtLeast: bigint, limit: bigint): StoredEvent[] {
    return (this.selectBackwards.all(streamId, from, downTo, createdAtLeast, limit) as EventRow[]).map(toStoredEvent);
  }

  readAllForwards(from: bigint, limit: number): StoredEvent[] {
    return (this.selectAllForwards.all(from, limit) as EventRow[]).map(toStoredEvent);
  }

  readAllBackwards(from: bigint, limit: number): StoredEvent[] {
    return (this.selectAllBackwards.all(from, limit) as EventRow[]).map(toStoredEvent);
  }

  eventAt(streamId: string, revision: bigint): StoredEvent | undefined {
    const row = this.selectAt.get(streamId, revision) as EventRow | undefined;
    return row && toStoredEvent(row);
  }

  /** Ids of up to `count` events from `fromRevision` on, in revision order (idempotency checks). */
  idsFrom(streamId: string, fromRevision: bigint, count: number): string[] {
    return (this.selectIds.all(streamId, fromRevision, count) as { event_id: string }[]).map((row) => row.event_id);
  }

  close(): void {
    this.db.close();
  }
}

/** What the log keeps in memory about one stream. */
export interface StreamState {
  /** Revision of the last event (tombstone excluded), or null when no event was ever written. */
  lastRevision: bigint | null;
  tombstoned: boolean;
  /** Ids of the last append's events, when known: retries with "any" are recognised without a read. */
  lastAppendIds?: string[];
}
