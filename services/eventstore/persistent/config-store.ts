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

export function loadConfigs(log: EventLog): GroupConfig[] {
  const read = log.readStream(CONFIG_STREAM, { from: "end", direction: "backwards", maxCount: 1n });
  if (read.kind !== "ok" || read.events.length === 0) return [];
  const snapshot = JSON.parse(new TextDecoder().decode(read.events[0]!.event.data)) as ConfigSnapshot;
  return snapshot.entries.map(fromStored);
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
