// Catch-up subscriptions to a stream or to $all. The subscription reads history from the log page by
// page; when a read reaches the end it switches to live delivery in the same synchronous step, so no
// commit can fall between the last read and the first live event (no gap, no duplicate). A consumer
// too slow for live delivery is told it fell behind and goes back to reading from the log.
import { randomUUID } from "node:crypto";
import type { EventLog, ReadEvent, StoredEvent } from "../log";
import { matchesFilter } from "../filter";
import { LINK_EVENT_TYPE, TOMBSTONE_EVENT_TYPE } from "../stream-metadata";
import { ResponseBatch } from "./framed-writes";
import { streamDeleted } from "./errors";
import { streamsPb } from "./proto";
import type { ReadRequest } from "./read-request";
import { fail, isGone, writable, type ReadCall } from "./read-call";

type Item = { entry: ReadEvent } | { checkpoint: bigint } | { streamDeleted: string };

const PAGE = 500;
/** Live items queued for a slow consumer beyond this: it fell behind and catches up from the log. */
const MAX_LIVE_QUEUE = 10_000;

export class SubscriptionRegistry {
  private readonly active = new Set<Subscription>();
  add(subscription: Subscription): void {
    this.active.add(subscription);
  }
  remove(subscription: Subscription): void {
    this.active.delete(subscription);
  }
  closeAll(): void {
    for (const subscription of [...this.active]) subscription.close();
  }
}

export class Subscription {
  /** Stream: last revision delivered. $all: last position examined. -1 = nothing yet. */
  private cursor = -1n;
  private live = false;
  /** Bumped at every switch between catching up and live, so stale loops stop. */
  private generation = 0;
  private queue: Item[] = [];
  private pumping = false;
  private sinceCheckpoint = 0;
  private stopped = false;
  private unsubscribe: () => void = () => {};
  /** Responses go out a page at a time; every path flushes it before it yields to the event loop. */
  private readonly batch: ResponseBatch;

  constructor(
    private readonly call: ReadCall,
    private readonly log: EventLog,
    private readonly request: ReadRequest,
    private readonly registry: SubscriptionRegistry,
  ) {
    this.batch = new ResponseBatch(call);
  }

  start(): void {
    const target = this.request.target;
    if (target.kind === "stream") {
      const probe = this.log.readStream(target.streamName, { from: "end", direction: "backwards", maxCount: 1n });
      if (probe.kind === "deleted") return fail(this.call, streamDeleted(target.streamName));
      if (target.from.kind === "revision") this.cursor = target.from.revision;
      else if (target.from.kind === "end") this.cursor = this.log.streamRevision(target.streamName) ?? -1n;
    } else if (target.from.kind === "position") {
      this.cursor = target.from.position;
    } else if (target.from.kind === "end") {
      this.cursor = this.log.lastPosition();
    }
    this.registry.add(this);
    for (const event of ["cancelled", "close", "error"] as const) this.call.on(event, () => this.stop());
    const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation().setSubscriptionId(randomUUID());
    this.call.write(new streamsPb.ReadResp().setConfirmation(confirmation));
    this.unsubscribe = this.log.onCommitted((events) => this.onCommitted(events));
    void this.catchUp(false);
  }

  /** Ends the call normally (server shutdown). */
  close(): void {
    if (!isGone(this.call)) this.call.end();
    this.stop();
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.generation += 1;
    this.unsubscribe();
    this.registry.remove(this);
  }

  private async catchUp(fellBehind: boolean): Promise<void> {
    const generation = ++this.generation;
    this.live = false;
    this.queue = [];
    if (fellBehind) this.call.write(new streamsPb.ReadResp().setFellBehind(new streamsPb.ReadResp.FellBehind()));
    try {
      while (!this.stopped && generation === this.generation) {
        const { items, reachedEnd } = this.readPage();
        if (reachedEnd) {
          // Written without waiting, so that switching to live happens before any other commit runs.
          for (const item of items) this.add(item);
          this.live = true;
          this.batch.message(new streamsPb.ReadResp().setCaughtUp(new streamsPb.ReadResp.CaughtUp()).serializeBinary());
          this.flush();
          return;
        }
        for (const item of items) this.add(item);
        if (!this.flush()) await writable(this.call);
        if (this.stopped || generation !== this.generation) return;
      }
    } catch (error) {
      fail(this.call, error);
      this.stop();
    }
  }

  private readPage(): { items: Item[]; reachedEnd: boolean } {
    const target = this.request.target;
    if (target.kind === "stream") {
      const page = this.log.readStream(target.streamName, {
        from: this.cursor + 1n,
        direction: "forwards",
        maxCount: BigInt(PAGE),
        resolveLinks: this.request.resolveLinks,
      });
      if (page.kind === "deleted") throw streamDeleted(target.streamName);
      if (page.kind === "not_found") return { items: [], reachedEnd: true };
      const items = page.events.map((entry) => ({ entry }));
      if (items.length > 0) {
        const last = page.events[page.events.length - 1]!;
        this.cursor = (last.link ?? last.event).revision;
      }
      return { items, reachedEnd: items.length < PAGE };
    }
    const filter = this.request.filter;
    const interval = this.request.checkpointInterval;
    const maxScan = filter ? Math.min(PAGE, interval - this.sinceCheckpoint) : PAGE;
    const page = this.log.readAll({
      from: this.cursor + 1n,
      direction: "forwards",
      maxCount: BigInt(PAGE),
      filter,
      resolveLinks: this.request.resolveLinks,
      maxScan,
    });
    const items: Item[] = page.events.map((entry) => ({ entry }));
    if (page.lastScanned !== null) this.cursor = page.lastScanned;
    if (filter) {
      this.sinceCheckpoint += page.scanned;
      if (this.sinceCheckpoint >= interval && page.lastScanned !== null) {
        items.push({ checkpoint: page.lastScanned });
        this.sinceCheckpoint = 0;
      }
    }
    return { items, reachedEnd: page.scanned < maxScan };
  }

  private onCommitted(events: StoredEvent[]): void {
    if (!this.live || this.stopped) return;
    const target = this.request.target;
    for (const event of events) {
      // Committed events are readable before they are announced (after their fsync): a catch-up read
      // may already have delivered them.
      if (target.kind === "stream") {
        if (event.streamId !== target.streamName || (event.revision <= this.cursor && event.type !== TOMBSTONE_EVENT_TYPE)) continue;
        if (event.type === TOMBSTONE_EVENT_TYPE) {
          this.queue.push({ streamDeleted: target.streamName });
          break;
        }
        this.queue.push({ entry: this.resolve(event) });
        continue;
      }
      if (event.position <= this.cursor) continue;
      const filter = this.request.filter;
      if (matchesFilter(filter, event)) this.queue.push({ entry: this.resolve(event) });
      if (filter && ++this.sinceCheckpoint >= this.request.checkpointInterval) {
        this.queue.push({ checkpoint: event.position });
        this.sinceCheckpoint = 0;
      }
    }
    if (this.queue.length > MAX_LIVE_QUEUE) {
      void this.catchUp(true);
      return;
    }
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    const generation = this.generation;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.stopped && generation === this.generation) {
        for (const item of this.queue.splice(0, PAGE)) {
          if ("streamDeleted" in item) {
            this.flush();
            fail(this.call, streamDeleted(item.streamDeleted));
            this.stop();
            return;
          }
          this.add(item);
        }
        if (!this.flush()) await writable(this.call);
      }
    } finally {
      this.pumping = false;
    }
    if (this.queue.length > 0 && !this.stopped && this.live && !this.pumping) void this.pump();
  }

  /** Adds one item to the batch, moving the cursor past it (when live). */
  private add(item: Item): void {
    if (isGone(this.call)) return;
    if ("entry" in item) {
      const original = item.entry.link ?? item.entry.event;
      if (this.live) this.cursor = this.request.target.kind === "stream" ? original.revision : original.position;
      this.batch.event(item.entry, this.request.structuredIds);
    } else if ("checkpoint" in item) {
      if (this.live) this.cursor = item.checkpoint;
      const position = item.checkpoint.toString();
      const checkpoint = new streamsPb.ReadResp.Checkpoint().setCommitPosition(position).setPreparePosition(position);
      this.batch.message(new streamsPb.ReadResp().setCheckpoint(checkpoint).serializeBinary());
    }
  }

  /** Writes the batch. Returns false when the client needs to catch up. */
  private flush(): boolean {
    if (isGone(this.call)) return true;
    return this.batch.flush();
  }

  /** Live events: a link is followed to its target when the subscriber asked for that. */
  private resolve(event: StoredEvent): ReadEvent {
    if (!this.request.resolveLinks || event.type !== LINK_EVENT_TYPE) return { event };
    const match = /^(\d+)@(.+)$/s.exec(Buffer.from(event.data).toString("utf8"));
    if (!match) return { event, unresolvedLink: true };
    const revision = BigInt(match[1]!);
    const read = this.log.readStream(match[2]!, { from: revision, direction: "forwards", maxCount: 1n });
    const target = read.kind === "ok" ? read.events[0]?.event : undefined;
    return target && target.revision === revision ? { event: target, link: event } : { event, unresolvedLink: true };
  }
}
