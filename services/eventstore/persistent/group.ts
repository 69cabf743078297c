// One subscription group: reads its source from a cursor, hands each message to one
// consumer, tracks acks/nacks/timeouts, parks what keeps failing and checkpoints the
// position below which everything is done. Catch-up and live use the same path: the group
// reads from the log whenever it has room and the log has something it has not read.
import type { EventLog, ReadEvent } from "../log";
import { Consumer, strategyFor, type ConsumerConnection, type ConsumerStrategy } from "./consumers";
import { maximumSubscribersReached, subscriptionDoesNotExist, type RpcError } from "./errors";
import { ProgressTracker } from "./progress";
import { groupKey, type GroupConfig } from "./settings";
import { sourceFor, type EventSource } from "./source";
import {
  markParkedReplayed,
  parkMessage,
  readCheckpoint,
  readParked,
  readParkedRange,
  writeCheckpoint,
  type ParkedRange,
} from "./system-streams";

export type NackAction = "unknown" | "park" | "retry" | "skip" | "stop";

interface Message {
  id: string;
  seq: bigint;
  readEvent: ReadEvent;
  retryCount: number;
  /** Replayed from the parked stream: already behind the checkpoint, so not counted for it. */
  replayed: boolean;
}

interface Outstanding {
  message: Message;
  consumer: Consumer;
  deadline: number;
  /** When it was sent (ms), for the connection's latency statistics. */
  sentAt: number;
}

export interface GroupSnapshot {
  config: GroupConfig;
  status: string;
  consumers: readonly Consumer[];
  totalItems: number;
  lastCheckpointedSeq: bigint | undefined;
  lastKnownSeq: bigint | undefined;
  readBufferCount: number;
  retryBufferCount: number;
  inFlight: number;
  parkedCount: bigint;
}

export interface GroupLogger {
  error(message: string, error?: unknown): void;
}

export class SubscriptionGroup {
  readonly key: string;
  private readonly source: EventSource;
  private readonly strategy: ConsumerStrategy;
  private consumers: Consumer[] = [];
  private retryQueue: Message[] = [];
  private buffer: Message[] = [];
  private readonly outstanding = new Map<string, Outstanding>();
  private cursor = 0n;
  private caughtUp = false;
  private lastKnownSeq: bigint | undefined;
  private totalItems = 0;

  private progress = new ProgressTracker(undefined);
  private lastCheckpointSeq: bigint | undefined;
  private completedSinceCheckpoint = 0;
  private lastCheckpointAt = Date.now();
  private checkpointInFlight = false;

  private parked: ParkedRange = { truncateBefore: 0n, last: -1n };
  private replaying = false;
  private stopped = false;
  private pumping = false;
  private pumpAgain = false;
  private pumpScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly backgroundWrites = new Set<Promise<unknown>>();

  constructor(
    readonly config: GroupConfig,
    private readonly log: EventLog,
    private readonly logger: GroupLogger,
  ) {
    this.key = groupKey(config.stream, config.group);
    this.source = sourceFor(log, config);
    this.strategy = strategyFor(config.settings.consumerStrategy);
  }

  start(): void {
    const checkpoint = readCheckpoint(this.log, this.key);
    this.lastCheckpointSeq = checkpoint;
    this.progress = new ProgressTracker(checkpoint);
    this.cursor = checkpoint !== undefined ? checkpoint + 1n : this.source.cursorFor(this.config.startFrom);
    this.parked = readParkedRange(this.log, this.key);
    this.unsubscribe = this.log.onCommitted((events) => {
      if (this.stopped || !this.source.concerns(events)) return;
      this.caughtUp = false;
      this.schedulePump();
    });
    const { messageTimeoutMs, checkpointAfterMs } = this.config.settings;
    const finest = Math.min(messageTimeoutMs || 1000, checkpointAfterMs || 1000);
    this.timer = setInterval(() => this.tick(), Math.max(10, Math.min(1000, Math.floor(finest / 2))));
    this.timer.unref();
    this.schedulePump();
  }

  /** Drops every consumer with `error` and waits for writes already under way. */
  async stop(error: RpcError): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
    const consumers = this.consumers;
    this.consumers = [];
    for (const consumer of consumers) {
      try {
        consumer.connection.drop(error);
      } catch (dropError) {
        this.logger.error(`dropping a consumer of ${this.key} failed`, dropError);
      }
    }
    await Promise.allSettled([...this.backgroundWrites]);
  }

  addConsumer(connection: ConsumerConnection): Consumer {
    const { stream, group, settings } = this.config;
    if (this.stopped) throw subscriptionDoesNotExist(stream, group);
    if (settings.maxSubscriberCount > 0 && this.consumers.length >= settings.maxSubscriberCount) {
      throw maximumSubscribersReached(stream, group);
    }
    const consumer = new Consumer(connection);
    this.consumers.push(consumer);
    this.schedulePump();
    return consumer;
  }

  /** A consumer left: what it held goes back to be retried (or parked), as EventStoreDB does. */
  removeConsumer(consumer: Consumer): void {
    const index = this.consumers.indexOf(consumer);
    if (index < 0) return;
    this.consumers.splice(index, 1);
    for (const id of [...consumer.inFlight]) {
      const entry = this.outstanding.get(id);
      if (!entry || entry.consumer !== consumer) continue;
      this.release(entry);
      this.retryOrPark(entry.message);
    }
    this.schedulePump();
  }

  /** Ids that are not outstanding (unknown, already acked, timed out) are ignored. */
  ack(ids: readonly string[]): void {
    if (this.stopped) return;
    for (const id of ids) {
      const entry = this.outstanding.get(id);
      if (!entry) continue;
      if (this.config.settings.extraStatistics) entry.consumer.latencies.record(Date.now() - entry.sentAt);
      this.release(entry);
      this.complete(entry.message);
    }
    this.afterProgress();
  }

  nack(ids: readonly string[], action: NackAction, reason: string): void {
    if (this.stopped) return;
    for (const id of ids) {
      const entry = this.outstanding.get(id);
      if (!entry) continue;
      switch (action) {
        case "retry":
        case "unknown":
          this.release(entry);
          this.retryOrPark(entry.message);
          break;
        case "park":
          this.release(entry);
          this.park(entry.message, `Client explicitly NAK'ed message.\n${reason}`);
          break;
        case "skip":
          this.release(entry);
          this.complete(entry.message);
          break;
        case "stop":
          // EventStoreDB takes no action on Stop: the message stays outstanding until it times out.
          break;
      }
    }
    this.afterProgress();
  }

  /** Re-delivers parked messages before parked-stream revision `stopAt` (all when undefined). */
  async replayParked(stopAt: bigint | undefined): Promise<void> {
    if (this.stopped || this.replaying) return;
    this.replaying = true;
    try {
      const range = readParkedRange(this.log, this.key);
      const end = range.last + 1n;
      const stop = stopAt !== undefined && stopAt < end ? stopAt : end;
      if (stop <= range.truncateBefore) return;
      for (const { link, event } of readParked(this.log, this.key, range.truncateBefore, stop)) {
        this.retryQueue.push({ id: link.id, seq: event.position, readEvent: { event, link }, retryCount: 0, replayed: true });
      }
      await markParkedReplayed(this.log, this.key, stop);
      this.parked = { truncateBefore: stop, last: this.parked.last > range.last ? this.parked.last : range.last };
    } finally {
      this.replaying = false;
      this.schedulePump();
    }
  }

  snapshot(): GroupSnapshot {
    const parkedCount = this.parked.last >= this.parked.truncateBefore ? this.parked.last - this.parked.truncateBefore + 1n : 0n;
    const status = this.replaying
      ? "ReplayingParkedMessages"
      : this.caughtUp && this.buffer.length === 0
        ? "Live"
        : "Behind";
    return {
      config: this.config,
      status,
      consumers: this.consumers,
      totalItems: this.totalItems,
      lastCheckpointedSeq: this.lastCheckpointSeq,
      lastKnownSeq: this.lastKnownSeq,
      readBufferCount: this.buffer.length,
      retryBufferCount: this.retryQueue.length,
      inFlight: this.outstanding.size,
      parkedCount,
    };
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        for (let round = 0; round < 1000; round++) {
          this.refill();
          if (this.dispatch() === 0) break;
        }
      } while (this.pumpAgain && !this.stopped);
    } catch (error) {
      this.logger.error(`persistent subscription ${this.key} failed to read or dispatch`, error);
    } finally {
      this.pumping = false;
    }
  }

  /** Reads a batch whenever the buffer falls to half a batch, so reads are not one per ack. */
  private refill(): void {
    const batchSize = this.config.settings.readBatchSize;
    const lowWater = Math.ceil(batchSize / 2);
    for (let reads = 0; !this.caughtUp && this.buffer.length < lowWater; reads++) {
      if (reads === 100) {
        // A sparse filter over a long log: carry on in a later turn rather than block the loop.
        this.schedulePump();
        return;
      }
      const batch = this.source.read(this.cursor, batchSize);
      for (const message of batch.messages) {
        this.buffer.push({ ...message, retryCount: 0, replayed: false });
        this.progress.read(message.seq);
        this.lastKnownSeq = message.seq;
      }
      this.cursor = batch.next;
      this.caughtUp = batch.caughtUp;
    }
  }

  /** Retries go first, then new messages in order. Returns how many were sent. */
  private dispatch(): number {
    let sent = 0;
    for (const queue of [this.retryQueue, this.buffer]) {
      let index = 0;
      while (index < queue.length) {
        if (!this.consumers.some((consumer) => consumer.availableSlots > 0)) return sent;
        const message = queue[index]!;
        if (this.outstanding.has(message.id)) {
          // A second event with an id already in flight: skipped, as EventStoreDB skips duplicates.
          queue.splice(index, 1);
          this.complete(message);
          continue;
        }
        const consumer = this.strategy.pick(this.consumers, this.strategy.pinKey(message.readEvent));
        if (!consumer) {
          if (this.strategy.skipsBlockedMessages) {
            index++;
            continue;
          }
          return sent;
        }
        queue.splice(index, 1);
        this.send(consumer, message);
        sent++;
      }
    }
    return sent;
  }

  private send(consumer: Consumer, message: Message): void {
    const timeout = this.config.settings.messageTimeoutMs;
    this.outstanding.set(message.id, { message, consumer, deadline: timeout > 0 ? Date.now() + timeout : Infinity, sentAt: Date.now() });
    consumer.inFlight.add(message.id);
    consumer.totalItems++;
    this.totalItems++;
    try {
      consumer.connection.deliver({ readEvent: message.readEvent, retryCount: message.retryCount });
    } catch (error) {
      // The call is going away; its removal puts the message back.
      this.logger.error(`delivering to a consumer of ${this.key} failed`, error);
    }
  }

  private release(entry: Outstanding): void {
    this.outstanding.delete(entry.message.id);
    entry.consumer.inFlight.delete(entry.message.id);
  }

  private retryOrPark(message: Message): void {
    const { maxRetryCount } = this.config.settings;
    if (message.retryCount >= maxRetryCount) {
      this.park(message, `Reached retry count of ${maxRetryCount}`);
      return;
    }
    message.retryCount++;
    this.retryQueue.push(message);
  }

  /** The message counts as done only once its parked link is durable. */
  private park(message: Message, reason: string): void {
    const write = (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const revision = await parkMessage(this.log, this.key, message.readEvent, reason, message.seq);
          if (revision > this.parked.last) this.parked = { ...this.parked, last: revision };
          return;
        } catch (error) {
          if (attempt >= 5) {
            this.logger.error(`parking a message of ${this.key} failed; the message is lost`, error);
            return;
          }
        }
      }
    })().finally(() => {
      this.backgroundWrites.delete(write);
      if (this.stopped) return;
      try {
        this.complete(message);
        this.afterProgress();
      } catch (error) {
        this.logger.error(`persistent subscription ${this.key} failed after parking`, error);
      }
    });
    this.backgroundWrites.add(write);
  }

  private complete(message: Message): void {
    if (message.replayed) return;
    this.progress.finished(message.seq);
    this.completedSinceCheckpoint++;
  }

  private afterProgress(): void {
    this.maybeCheckpoint(false);
    this.pump();
  }

  private tick(): void {
    if (this.stopped) return;
    try {
      const now = Date.now();
      for (const entry of [...this.outstanding.values()]) {
        if (entry.deadline > now) continue;
        this.release(entry);
        this.retryOrPark(entry.message);
      }
      this.maybeCheckpoint(true);
      this.pump();
    } catch (error) {
      this.logger.error(`persistent subscription ${this.key} failed on its timer`, error);
    }
  }

  /** EventStoreDB's rule: at maxCheckpointCount at once, or at minCheckpointCount once checkpointAfter passed. */
  private maybeCheckpoint(isTimeCheck: boolean): void {
    const { minCheckpointCount, maxCheckpointCount, checkpointAfterMs } = this.config.settings;
    const done = this.completedSinceCheckpoint;
    if (done === 0 || this.checkpointInFlight) return;
    const dueByCount = done >= maxCheckpointCount;
    const dueByTime = isTimeCheck && Date.now() - this.lastCheckpointAt >= checkpointAfterMs && done >= minCheckpointCount;
    if (!dueByCount && !dueByTime) return;
    const candidate = this.progress.checkpointable(this.cursor - 1n);
    if (candidate === undefined || candidate === this.lastCheckpointSeq) return;
    this.checkpointInFlight = true;
    this.completedSinceCheckpoint = 0;
    this.lastCheckpointAt = Date.now();
    const write = writeCheckpoint(this.log, this.key, candidate, this.source.isAll)
      .then(() => {
        if (this.lastCheckpointSeq === undefined || candidate > this.lastCheckpointSeq) this.lastCheckpointSeq = candidate;
      })
      .catch((error) => {
        this.completedSinceCheckpoint += done;
        this.logger.error(`checkpointing ${this.key} failed`, error);
      })
      .finally(() => {
        this.checkpointInFlight = false;
        this.backgroundWrites.delete(write);
      });
    this.backgroundWrites.add(write);
  }
}
