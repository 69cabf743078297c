// EventStoreDB's standard system projections, kept at append time as link events ("$>", data
// "<revision>@<stream>") written in the same transaction as the events they index:
//   $by_category   every event of "<category>-<id>" → $ce-<category> (category: before the first "-")
//   $by_event_type every event of type T              → $et-<T>
//   $streams       the first event of every stream    → $streams
// Events of system streams ("$"-prefixed) and system event types are not indexed, as on a real node.
import type { StoredEvent } from "./log";
import { LINK_EVENT_TYPE } from "./stream-metadata";

export const SYSTEM_PROJECTIONS = ["$by_category", "$by_event_type", "$streams"] as const;
export type SystemProjectionName = (typeof SYSTEM_PROJECTIONS)[number];

export const CATEGORY_STREAM_PREFIX = "$ce-";
export const EVENT_TYPE_STREAM_PREFIX = "$et-";
export const STREAMS_STREAM = "$streams";

export interface LinkToWrite {
  streamId: string;
  data: Uint8Array;
  metadata: Uint8Array;
}

export function isSystemProjection(name: string): name is SystemProjectionName {
  return (SYSTEM_PROJECTIONS as readonly string[]).includes(name);
}

/** Which system projections run; Projections.Enable/Disable switch them. */
export class SystemProjections {
  private readonly running: Set<SystemProjectionName>;

  constructor(enabled: boolean) {
    this.running = new Set(enabled ? SYSTEM_PROJECTIONS : []);
  }

  set(name: SystemProjectionName, running: boolean): void {
    if (running) this.running.add(name);
    else this.running.delete(name);
  }

  isRunning(name: SystemProjectionName): boolean {
    return this.running.has(name);
  }

  /** The links the running projections write for events just appended to a user stream. */
  linksFor(events: readonly StoredEvent[]): LinkToWrite[] {
    if (this.running.size === 0) return [];
    const links: LinkToWrite[] = [];
    for (const event of events) {
      if (event.streamId.startsWith("$") || event.type === LINK_EVENT_TYPE) continue;
      const target = Buffer.from(`${event.revision}@${event.streamId}`);
      const metadata = Buffer.from(JSON.stringify({ $o: event.streamId, $causedBy: event.id }));
      const link = (streamId: string) => links.push({ streamId, data: target, metadata });
      if (event.revision === 0n && this.running.has("$streams")) link(STREAMS_STREAM);
      const dash = event.streamId.indexOf("-");
      if (dash > 0 && this.running.has("$by_category")) link(CATEGORY_STREAM_PREFIX + event.streamId.slice(0, dash));
      if (!event.type.startsWith("$") && this.running.has("$by_event_type")) link(EVENT_TYPE_STREAM_PREFIX + event.type);
    }
    return links;
  }
}
