// What a group reads: one stream (sequence = revision in that stream) or $all (sequence =
// log position), optionally filtered. A cursor is the next sequence to read, inclusive.
import type { EventFilter, EventLog, ReadEvent, StoredEvent } from "../log";
import { ALL_STREAM, type GroupConfig, type StartFrom } from "./settings";

export interface SourceMessage {
  /** The id a consumer acks: the link's id when the event was reached through a link. */
  id: string;
  seq: bigint;
  readEvent: ReadEvent;
}

export interface SourceBatch {
  messages: SourceMessage[];
  next: bigint;
  caughtUp: boolean;
}

export interface EventSource {
  readonly isAll: boolean;
  cursorFor(startFrom: StartFrom): bigint;
  read(cursor: bigint, maxCount: number): SourceBatch;
  /** Whether freshly committed events may concern this source. */
  concerns(events: StoredEvent[]): boolean;
}

/**
 * Bounds how many $all events one read examines: a few batches' worth, so a dense filter does not
 * read far ahead and a sparse one cannot hold the event loop for the whole log (the group reads on).
 */
const scanLimit = (maxCount: number) => Math.max(4 * maxCount, 100);


const original = (entry: ReadEvent) => entry.link ?? entry.event;

const toMessage = (entry: ReadEvent, seq: bigint): SourceMessage => ({ id: original(entry).id, seq, readEvent: entry });

class StreamSource implements EventSource {
  readonly isAll = false;
  constructor(
    private readonly log: EventLog,
    private readonly stream: string,
    private readonly resolveLinks: boolean,
  ) {}

  cursorFor(startFrom: StartFrom): bigint {
    if (startFrom.kind === "start") return 0n;
    if (startFrom.kind === "at") return startFrom.value;
    return (this.log.streamRevision(this.stream) ?? -1n) + 1n;
  }

  read(cursor: bigint, maxCount: number): SourceBatch {
    const read = this.log.readStream(this.stream, {
      from: cursor,
      direction: "forwards",
      maxCount: BigInt(maxCount),
      resolveLinks: this.resolveLinks,
    });
    if (read.kind !== "ok") return { messages: [], next: cursor, caughtUp: true };
    const messages = read.events
      .map((entry) => toMessage(entry, original(entry).revision))
      .filter((message) => message.seq >= cursor);
    const next = messages.length > 0 ? messages[messages.length - 1]!.seq + 1n : cursor;
    return { messages, next, caughtUp: read.events.length < maxCount };
  }

  concerns(events: StoredEvent[]): boolean {
    return events.some((event) => event.streamId === this.stream);
  }
}

class AllSource implements EventSource {
  readonly isAll = true;
  private readonly filter: EventFilter | undefined;
  private readonly resolveLinks: boolean;

  constructor(
    private readonly log: EventLog,
    config: GroupConfig,
  ) {
    this.resolveLinks = config.settings.resolveLinks;
    const spec = config.filter;
    this.filter =
      spec && (spec.regex || spec.prefixes.length > 0)
        ? { on: spec.on, ...(spec.regex ? { regex: new RegExp(spec.regex) } : { prefixes: spec.prefixes }) }
        : undefined;
  }

  cursorFor(startFrom: StartFrom): bigint {
    if (startFrom.kind === "start") return 0n;
    if (startFrom.kind === "at") return startFrom.value;
    return this.log.lastPosition() + 1n;
  }

  // As on EventStoreDB, system streams reach $all groups like any other (a filter can exclude them),
  // the group's own checkpoints included: those are written at most once per minCheckPointCount
  // finished messages, so they cannot feed the group by themselves for long.
  read(cursor: bigint, maxCount: number): SourceBatch {
    // Ask for as many events as are examined: the log reads its page of rows either way.
    const scan = scanLimit(maxCount);
    const { events, lastScanned } = this.log.readAll({
      from: cursor,
      direction: "forwards",
      maxCount: BigInt(scan),
      maxScan: scan,
      resolveLinks: this.resolveLinks,
      ...(this.filter ? { filter: this.filter } : {}),
    });
    const messages = events
      .filter((entry) => this.matches(entry.event))
      .map((entry) => toMessage(entry, original(entry).position))
      .filter((message) => message.seq >= cursor);
    const lastSeen = [lastScanned, events.length > 0 ? events[events.length - 1]!.event.position : null].reduce<bigint | null>(
      (max, value) => (value !== null && (max === null || value > max) ? value : max),
      null,
    );
    const next = lastSeen !== null && lastSeen + 1n > cursor ? lastSeen + 1n : cursor;
    return { messages, next, caughtUp: next === cursor || next > this.log.lastPosition() };
  }

  /** The log applies the filter too; checking again keeps the group exact whatever the log's window. */
  private matches(event: StoredEvent): boolean {
    if (!this.filter) return true;
    const subject = this.filter.on === "stream" ? event.streamId : event.type;
    if (this.filter.regex) return this.filter.regex.test(subject);
    return (this.filter.prefixes ?? []).some((prefix) => subject.startsWith(prefix));
  }

  concerns(events: StoredEvent[]): boolean {
    return events.some((event) => this.matches(event));
  }
}

export function sourceFor(log: EventLog, config: GroupConfig): EventSource {
  return config.stream === ALL_STREAM
    ? new AllSource(log, config)
    : new StreamSource(log, config.stream, config.settings.resolveLinks);
}
