// Consumers of a group and the strategies that choose which one gets the next message.
import type { ReadEvent } from "../log";
import type { RpcError } from "./errors";
import type { ConsumerStrategyName } from "./settings";

export interface Delivery {
  readEvent: ReadEvent;
  retryCount: number;
}

/** One connected Read call. */
export interface ConsumerConnection {
  readonly from: string;
  readonly connectionName: string;
  /** The authenticated user ("" in insecure mode). */
  readonly username: string;
  /** The client's buffer size: how many unacknowledged messages it may hold. */
  readonly capacity: number;
  deliver(delivery: Delivery): void;
  /** Ends the call with this error (the group was deleted, updated or restarted). */
  drop(error: RpcError): void;
}

/**
 * Delivery-to-ack latencies of a connection's last messages, reported as EventStoreDB reports them
 * when a group has extraStatistics: mean, median, fastest, quintiles, high percentiles, highest (ms).
 */
export class LatencyWindow {
  private readonly samples: number[] = [];
  private next = 0;
  constructor(private readonly size = 1024) {}

  record(ms: number): void {
    if (this.samples.length < this.size) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
  }

  measurements(): Array<[string, number]> {
    const sorted = [...this.samples].sort((a, b) => a - b);
    if (sorted.length === 0) return [];
    const at = (fraction: number) => sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
    const mean = Math.round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length);
    return [
      ["Mean", mean],
      ["Median", at(0.5)],
      ["Fastest", sorted[0]!],
      ...[1, 2, 3, 4, 5].map((q): [string, number] => [`Quintile ${q}`, at(q / 5 - 0.0001)]),
      ...["90", "95", "99", "99.5", "99.9"].map((p): [string, number] => [`${p}%`, at(Number(p) / 100)]),
      ["Highest", sorted[sorted.length - 1]!],
    ];
  }
}

export class Consumer {
  readonly inFlight = new Set<string>();
  readonly latencies = new LatencyWindow();
  totalItems = 0;
  constructor(readonly connection: ConsumerConnection) {}

  get availableSlots(): number {
    return Math.max(0, this.connection.capacity - this.inFlight.size);
  }
}

export interface ConsumerStrategy {
  /** The consumer for a message with this pin key, or undefined when it must wait. */
  pick(consumers: readonly Consumer[], pinKey: string): Consumer | undefined;
  /** What pins a message to a consumer (only the pinned strategies look at it). */
  pinKey(readEvent: ReadEvent): string;
  /** Whether a message the strategy refused may be passed over for later ones. */
  readonly skipsBlockedMessages: boolean;
}

/** The stream the message was read from (the link's stream when a link was resolved). */
const sourceStream = (readEvent: ReadEvent): string => (readEvent.link ?? readEvent.event).streamId;

class RoundRobin implements ConsumerStrategy {
  readonly skipsBlockedMessages = false;
  readonly pinKey = sourceStream;
  private next = 0;
  pick(consumers: readonly Consumer[]): Consumer | undefined {
    for (let k = 0; k < consumers.length; k++) {
      const index = (this.next + k) % consumers.length;
      const consumer = consumers[index]!;
      if (consumer.availableSlots > 0) {
        this.next = (index + 1) % consumers.length;
        return consumer;
      }
    }
    return undefined;
  }
}

/** Fills the earliest-connected consumer first, then spills over to the next. */
class DispatchToSingle implements ConsumerStrategy {
  readonly skipsBlockedMessages = false;
  readonly pinKey = sourceStream;
  pick(consumers: readonly Consumer[]): Consumer | undefined {
    return consumers.find((consumer) => consumer.availableSlots > 0);
  }
}

/** Every event of one source stream goes to the same consumer while membership is stable. */
class Pinned implements ConsumerStrategy {
  readonly skipsBlockedMessages = true;
  pinKey(readEvent: ReadEvent): string {
    return sourceStream(readEvent);
  }
  pick(consumers: readonly Consumer[], pinKey: string): Consumer | undefined {
    if (consumers.length === 0) return undefined;
    const consumer = consumers[hash(pinKey) % consumers.length]!;
    return consumer.availableSlots > 0 ? consumer : undefined;
  }
}

/**
 * KurrentDB's PinnedByCorrelation: pinned by the `$correlationId` of the event's metadata (JSON),
 * falling back to Pinned's key when the event has none.
 */
class PinnedByCorrelation extends Pinned {
  override pinKey(readEvent: ReadEvent): string {
    const metadata = readEvent.event.metadata;
    if (metadata.length > 0 && metadata.length < 64 * 1024) {
      try {
        const correlation = JSON.parse(Buffer.from(metadata).toString("utf8"))?.$correlationId;
        if (typeof correlation === "string" && correlation !== "") return correlation;
      } catch {
        /* not JSON: pinned by stream */
      }
    }
    return super.pinKey(readEvent);
  }
}

function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    value ^= text.charCodeAt(i);
    value = Math.imul(value, 0x01000193);
  }
  return value >>> 0;
}

export function strategyFor(name: ConsumerStrategyName): ConsumerStrategy {
  switch (name) {
    case "RoundRobin":
      return new RoundRobin();
    case "DispatchToSingle":
      return new DispatchToSingle();
    case "Pinned":
      return new Pinned();
    case "PinnedByCorrelation":
      return new PinnedByCorrelation();
    default:
      throw new Error(`Consumer strategy ${String(name)} does not exist.`);
  }
}
