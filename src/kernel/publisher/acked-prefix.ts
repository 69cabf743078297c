// Which $all position may be checkpointed: the last one before which every event is either
// acknowledged by JetStream or needs no publishing. Publishes complete out of order; the
// checkpoint only ever moves over a fully acknowledged prefix.
import type { Position } from "@eventstore/db-client";

interface Entry {
  position: Position;
  done: boolean;
}

export class AckedPrefix {
  private readonly queue: Entry[] = [];
  private acked: Position | undefined;

  constructor(start: Position | undefined) {
    this.acked = start;
  }

  /** An event that needs no publishing (not ours, skipped, parked). */
  passed(position: Position): void {
    if (this.queue.length === 0) this.acked = position;
    else this.queue.push({ position, done: true });
  }

  /** An event being published; call the returned function once JetStream acknowledged it. */
  pending(position: Position): () => void {
    const entry: Entry = { position, done: false };
    this.queue.push(entry);
    return () => {
      entry.done = true;
      while (this.queue[0]?.done) this.acked = this.queue.shift()!.position;
    };
  }

  /** Entries waiting behind the oldest unacknowledged publish. */
  get waiting(): number {
    return this.queue.length;
  }

  get position(): Position | undefined {
    return this.acked;
  }
}
