// Reads of one stream (with its metadata applied) and of $all (with filters), and link resolution.
import { matchesFilter } from "./filter";
import type { ReadAllOptions, ReadAllResult, ReadEvent, ReadStreamOptions, StoredEvent, StreamRead } from "./log";
import { nowTicks, type EventTable } from "./sqlite-store";
import { LINK_EVENT_TYPE, isMetastream, isSoftDeleted, type StreamMetadata } from "./stream-metadata";

/** What the reader needs from the log: cached stream states and metadata. */
export interface StreamStates {
  state(streamId: string): { lastRevision: bigint | null; tombstoned: boolean };
  streamMetadata(streamId: string): StreamMetadata | undefined;
  lastPosition(): bigint;
}

const MAX_INT64 = 9223372036854775807n;
const TICKS_PER_SECOND = 10_000_000n;
const ALL_PAGE = 1000;

interface VisibleRange {
  lowest: bigint;
  last: bigint;
  createdAtLeast: bigint;
}

export class StreamReader {
  constructor(
    private readonly table: EventTable,
    private readonly states: StreamStates,
  ) {}

  readStream(streamId: string, options: ReadStreamOptions): StreamRead {
    const range = this.visibleRange(streamId);
    if (range === "deleted" || range === "not_found") return { kind: range };
    const limit = options.maxCount > MAX_INT64 ? MAX_INT64 : options.maxCount;
    if (limit <= 0n) return { kind: "ok", events: [] };
    let events: StoredEvent[];
    if (options.direction === "forwards") {
      const from = options.from === "start" ? 0n : options.from === "end" ? range.last + 1n : options.from;
      const start = from > range.lowest ? from : range.lowest;
      events = this.table.readForwards(streamId, start, range.last, range.createdAtLeast, limit);
    } else {
      const from = options.from === "end" ? range.last : options.from === "start" ? 0n : options.from;
      const start = from < range.last ? from : range.last;
      events = this.table.readBackwards(streamId, start, range.lowest, range.createdAtLeast, limit);
    }
    return { kind: "ok", events: events.map((event) => this.toReadEvent(event, options.resolveLinks)) };
  }

  readAll(options: ReadAllOptions): ReadAllResult {
    const wanted = options.maxCount > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(options.maxCount);
    const maxScan = options.maxScan ?? Number.MAX_SAFE_INTEGER;
    const forwards = options.direction === "forwards";
    const events: ReadEvent[] = [];
    let scanned = 0;
    let lastScanned: bigint | null = null;
    // Forwards from a position includes it; backwards from a position starts just before it.
    let cursor: bigint;
    if (options.from === "start") cursor = forwards ? 0n : -1n;
    else if (options.from === "end") cursor = forwards ? this.states.lastPosition() + 1n : this.states.lastPosition();
    else cursor = forwards ? options.from : options.from - 1n;
    while (events.length < wanted && scanned < maxScan && cursor >= 0n) {
      const page = Math.min(ALL_PAGE, maxScan - scanned);
      const rows = forwards ? this.table.readAllForwards(cursor, page) : this.table.readAllBackwards(cursor, page);
      for (const row of rows) {
        scanned += 1;
        lastScanned = row.position;
        if (matchesFilter(options.filter, row)) {
          events.push(this.toReadEvent(row, options.resolveLinks));
          if (events.length >= wanted) break;
        }
      }
      if (rows.length < page) break;
      cursor = forwards ? lastScanned! + 1n : lastScanned! - 1n;
    }
    return { events, lastScanned, scanned };
  }

  /** Which revisions of a stream a read may return, given its metadata ($tb, $maxCount, $maxAge). */
  private visibleRange(streamId: string): VisibleRange | "deleted" | "not_found" {
    const state = this.states.state(streamId);
    if (state.tombstoned) return "deleted";
    if (state.lastRevision === null) return "not_found";
    const metastream = isMetastream(streamId);
    const metadata = metastream ? undefined : this.states.streamMetadata(streamId);
    if (isSoftDeleted(metadata)) return "not_found";
    const last = state.lastRevision;
    let lowest = metadata?.truncateBefore ?? 0n;
    // A metastream only ever shows its latest event, as in EventStoreDB.
    const maxCount = metastream ? 1n : metadata?.maxCount;
    if (maxCount !== undefined && last - maxCount + 1n > lowest) lowest = last - maxCount + 1n;
    const createdAtLeast = metadata?.maxAge !== undefined ? nowTicks() - metadata.maxAge * TICKS_PER_SECOND : 0n;
    return { lowest, last, createdAtLeast };
  }

  private toReadEvent(event: StoredEvent, resolveLinks: boolean | undefined): ReadEvent {
    if (!resolveLinks || event.type !== LINK_EVENT_TYPE) return { event };
    const target = this.resolveLink(event);
    return target ? { event: target, link: event } : { event, unresolvedLink: true };
  }

  /** Follows a "$>" event ("<revision>@<stream>") to its target if that is still visible. */
  private resolveLink(link: StoredEvent): StoredEvent | undefined {
    const text = Buffer.from(link.data).toString("utf8");
    const match = /^(\d+)@(.+)$/s.exec(text);
    if (!match) return undefined;
    const revision = BigInt(match[1]!);
    const streamId = match[2]!;
    const range = this.visibleRange(streamId);
    if (typeof range === "string" || revision < range.lowest || revision > range.last) return undefined;
    const target = this.table.eventAt(streamId, revision);
    return target && target.created >= range.createdAtLeast ? target : undefined;
  }
}
