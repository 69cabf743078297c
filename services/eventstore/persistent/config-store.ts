// Subscription group configs live in the log itself, in EventStoreDB's system stream
// `$persistentSubscriptionConfig`: each write is a full snapshot of every group.
import { randomUUID } from "node:crypto";
import type { EventLog } from "../log";
import { fromStored, toStored, type GroupConfig, type StoredGroupConfig } from "./settings";

export const CONFIG_STREAM = "$persistentSubscriptionConfig";
const CONFIG_EVENT_TYPE = "$PersistentConfig";

interface ConfigSnapshot {
  version: number;
  updated: string;
  entries: StoredGroupConfig[];
}

/**
 * The latest readable snapshot. Anyone may append to the config stream through the Streams API,
 * so unreadable snapshots are passed over rather than allowed to stop the store from starting.
 */
export function loadConfigs(log: EventLog, onUnreadable: (error: unknown) => void): GroupConfig[] {
  const read = log.readStream(CONFIG_STREAM, { from: "end", direction: "backwards", maxCount: 100n });
  if (read.kind !== "ok") return [];
  for (const { event } of read.events) {
    try {
      const snapshot = JSON.parse(new TextDecoder().decode(event.data)) as ConfigSnapshot;
      if (!Array.isArray(snapshot.entries)) throw new Error("no entries");
      return snapshot.entries.map(fromStored);
    } catch (error) {
      onUnreadable(error);
    }
  }
  return [];
}

/** Writes snapshots one at a time, in call order, each taken when its turn comes. */
export class ConfigWriter {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: EventLog,
    private readonly current: () => GroupConfig[],
  ) {}

  save(): Promise<void> {
    const write = this.queue.then(() => this.write());
    this.queue = write.catch(() => undefined);
    return write;
  }

  /** Resolves once every save asked for so far is done (failed ones included). */
  flush(): Promise<void> {
    return this.queue;
  }

  private async write(): Promise<void> {
    const snapshot: ConfigSnapshot = { version: 1, updated: new Date().toISOString(), entries: this.current().map(toStored) };
    const outcome = await this.log.append(CONFIG_STREAM, { kind: "any" }, [
      {
        id: randomUUID(),
        type: CONFIG_EVENT_TYPE,
        contentType: "application/json",
        data: new TextEncoder().encode(JSON.stringify(snapshot)),
        metadata: new Uint8Array(),
      },
    ]);
    if (!outcome.ok) throw new Error(`writing ${CONFIG_STREAM} failed: ${outcome.reason}`);
  }
}
