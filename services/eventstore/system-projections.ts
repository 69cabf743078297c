// EventStoreDB's standard system projections, run as a real node runs them: each reads $all from its
// checkpoint and writes link events ("$>", data "<revision>@<stream>") shortly after the events it
// indexes, in a later commit, batched about 50 ms after them (so a subscriber may start between an
// event and its links, as on a real node). They are stopped until enabled (EventStoreDB's StartStandardProjections=false default);
// Projections.Enable starts one from its checkpoint, catching up on everything before, Disable stops it.
//   $by_category   every event of "<category>-<id>" → $ce-<category> (category: before the first "-")
//   $by_event_type every event of type T              → $et-<T>
//   $streams       the first event of every stream    → $streams
// Events of system streams ("$"-prefixed) and of system types are not indexed.
import { randomUUID } from "node:crypto";
import type { EventLog, ProposedEvent, StoredEvent } from "./log";
import { LINK_EVENT_TYPE } from "./stream-metadata";

export const SYSTEM_PROJECTIONS = ["$by_category", "$by_event_type", "$streams"] as const;
export type SystemProjectionName = (typeof SYSTEM_PROJECTIONS)[number];

export const CATEGORY_STREAM_PREFIX = "$ce-";
export const EVENT_TYPE_STREAM_PREFIX = "$et-";
export const STREAMS_STREAM = "$streams";
const CHECKPOINT_EVENT_TYPE = "$ProjectionCheckpoint";
const PAGE = 1000;
const BATCH_DELAY_MS = 50;

export const checkpointStreamOf = (name: SystemProjectionName) => `$projections-${name}-checkpoint`;

export function isSystemProjection(name: string): name is SystemProjectionName {
  return (SYSTEM_PROJECTIONS as readonly string[]).includes(name);
}

/** The stream a projection links `event` into, if any. */
export function linkStreamOf(name: SystemProjectionName, event: StoredEvent): string | undefined {
  if (event.streamId.startsWith("$") || event.type.startsWith("$")) return undefined;
  if (name === "$streams") return event.revision === 0n ? STREAMS_STREAM : undefined;
  if (name === "$by_event_type") return EVENT_TYPE_STREAM_PREFIX + event.type;
  const dash = event.streamId.indexOf("-");
  return dash > 0 ? CATEGORY_STREAM_PREFIX + event.streamId.slice(0, dash) : undefined;
}

interface ProjectionState {
  running: boolean;
  /** The $all position from which the projection has not yet processed events. */
  cursor: bigint;
}

const json = (type: string, data: unknown): ProposedEvent => ({
  id: randomUUID(),
  type,
  contentType: "application/json",
  data: Buffer.from(JSON.stringify(data, (_, value) => (typeof value === "bigint" ? value.toString() : value))),
  metadata: new Uint8Array(0),
});

export class SystemProjections {
  private readonly states = new Map<SystemProjectionName, ProjectionState>();
  private working = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly unsubscribe: () => void;

  /** `start`: run every projection that has no saved state (EventStoreDB's StartStandardProjections). */
  constructor(private readonly log: EventLog, start: boolean) {
    for (const name of SYSTEM_PROJECTIONS) this.states.set(name, this.load(name) ?? { running: start, cursor: 0n });
    this.unsubscribe = log.onCommitted(() => this.wake());
    this.wake();
  }

  isRunning(name: SystemProjectionName): boolean {
    return this.states.get(name)!.running;
  }

  /** Enable or disable; the choice is saved in the projection's checkpoint stream. */
  async set(name: SystemProjectionName, running: boolean): Promise<void> {
    const state = this.states.get(name)!;
    if (state.running === running) return;
    state.running = running;
    await this.log.append(checkpointStreamOf(name), { kind: "any" }, [json(CHECKPOINT_EVENT_TYPE, state)]);
    this.wake();
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribe();
  }

  private load(name: SystemProjectionName): ProjectionState | undefined {
    const read = this.log.readStream(checkpointStreamOf(name), { from: "end", direction: "backwards", maxCount: 1n });
    const last = read.kind === "ok" ? read.events[0]?.event : undefined;
    if (!last) return undefined;
    try {
      const saved = JSON.parse(Buffer.from(last.data).toString("utf8")) as { running: boolean; cursor: string };
      return { running: saved.running === true, cursor: BigInt(saved.cursor) };
    } catch {
      return undefined;
    }
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.working) {
      this.again = true;
      return;
    }
    this.working = true;
    // Like a real node's projections, which follow $all through a reader and commit in batches, the
    // links come a moment after the events: one pass per BATCH_DELAY_MS, however many appends came.
    this.timer = setTimeout(() => this.run(), BATCH_DELAY_MS);
  }

  private run(): void {
    this.timer = undefined;
    void (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && (await this.step())) {
            /* more pages */
          }
        } while (this.again && !this.stopped);
      } catch {
        // The log refused a write (disk full, closing): the next commit wakes the projections again.
      } finally {
        this.working = false;
      }
    })();
  }

  /** Processes one page for every running projection; true when any of them may have more. */
  private async step(): Promise<boolean> {
    const writes: Promise<unknown>[] = [];
    // Restored if a write fails, so that nothing is skipped.
    const cursors = new Map([...this.states].map(([name, state]) => [name, state.cursor]));
    let more = false;
    for (const [name, state] of this.states) {
      if (!state.running) continue;
      const { events, lastScanned } = this.log.readAll({ from: state.cursor, direction: "forwards", maxCount: BigInt(PAGE), maxScan: PAGE });
      if (lastScanned === null) continue;
      more ||= events.length >= PAGE;
      const links = new Map<string, ProposedEvent[]>();
      for (const { event } of events) {
        const stream = linkStreamOf(name, event);
        if (!stream) continue;
        const metadata = Buffer.from(JSON.stringify({ $o: event.streamId, $p: event.position.toString(), $causedBy: event.id }));
        const link: ProposedEvent = { id: randomUUID(), type: LINK_EVENT_TYPE, contentType: "application/octet-stream", data: Buffer.from(`${event.revision}@${event.streamId}`), metadata };
        links.set(stream, [...(links.get(stream) ?? []), link]);
      }
      state.cursor = lastScanned + 1n;
      if (links.size === 0) continue; // Its own links and checkpoints only: nothing to save, no loop.
      // Queued in one tick, so links and checkpoint commit in one transaction.
      for (const [stream, proposed] of links) writes.push(this.log.append(stream, { kind: "any" }, proposed));
      writes.push(this.log.append(checkpointStreamOf(name), { kind: "any" }, [json(CHECKPOINT_EVENT_TYPE, state)]));
    }
    try {
      await Promise.all(writes);
    } catch (error) {
      for (const [name, cursor] of cursors) this.states.get(name)!.cursor = cursor;
      throw error;
    }
    return more;
  }
}
