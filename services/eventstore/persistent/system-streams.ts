// The streams a subscription group keeps its state in, named as EventStoreDB names them:
// `$persistentsubscription-<stream>::<group>-checkpoint` and `...-parked`.
import { randomUUID } from "node:crypto";
import type { EventLog, ReadEvent, StoredEvent } from "../log";

const JSON_TYPE = "application/json";
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(bytes));

export const checkpointStreamOf = (key: string) => `$persistentsubscription-${key}-checkpoint`;
export const parkedStreamOf = (key: string) => `$persistentsubscription-${key}-parked`;
const metastreamOf = (stream: string) => `$$${stream}`;

function lastEventOf(log: EventLog, stream: string): StoredEvent | undefined {
  const read = log.readStream(stream, { from: "end", direction: "backwards", maxCount: 1n });
  return read.kind === "ok" ? read.events[0]?.event : undefined;
}

/** Checkpoints are JSON: a revision number for stream groups, "C:x/P:y" for $all groups. */
export function readCheckpoint(log: EventLog, key: string): bigint | undefined {
  const last = lastEventOf(log, checkpointStreamOf(key));
  if (!last) return undefined;
  try {
    const value = decode(last.data);
    if (typeof value === "number") return BigInt(value);
    if (typeof value === "string") {
      const match = /^C:(-?\d+)\/P:-?\d+$/.exec(value);
      return BigInt(match ? match[1]! : value);
    }
  } catch {
    // A damaged checkpoint means "no checkpoint": the group restarts from its start position.
  }
  return undefined;
}

export async function writeCheckpoint(log: EventLog, key: string, seq: bigint, isAll: boolean): Promise<void> {
  const data = isAll ? encode(`C:${seq}/P:${seq}`) : encode(Number(seq));
  const outcome = await log.append(checkpointStreamOf(key), { kind: "any" }, [
    { id: randomUUID(), type: "$SubscriptionCheckpoint", contentType: JSON_TYPE, data, metadata: new Uint8Array() },
  ]);
  if (!outcome.ok) throw new Error(`checkpoint write to ${checkpointStreamOf(key)} failed: ${outcome.reason}`);
}

/** Parks a message as a `$>` link to the event, with the reason in its metadata. */
export async function parkMessage(log: EventLog, key: string, message: ReadEvent, reason: string, seq: bigint): Promise<bigint> {
  const target = message.event;
  const metadata = encode({ added: new Date().toISOString(), reason, subscriptionEventNumber: seq.toString() });
  const outcome = await log.append(parkedStreamOf(key), { kind: "any" }, [
    {
      id: randomUUID(),
      type: "$>",
      contentType: "application/octet-stream",
      data: new TextEncoder().encode(`${target.revision}@${target.streamId}`),
      metadata,
    },
  ]);
  if (!outcome.ok) throw new Error(`parking in ${parkedStreamOf(key)} failed: ${outcome.reason}`);
  return outcome.revision;
}

export interface ParkedRange {
  /** First parked revision not yet replayed (the parked stream's $tb). */
  truncateBefore: bigint;
  /** Last parked revision, or -1n when nothing was ever parked. */
  last: bigint;
}

export function readParkedRange(log: EventLog, key: string): ParkedRange {
  const stream = parkedStreamOf(key);
  const last = log.streamRevision(stream) ?? -1n;
  let truncateBefore = 0n;
  const meta = lastEventOf(log, metastreamOf(stream));
  if (meta) {
    try {
      const value = decode(meta.data) as { $tb?: unknown };
      if (typeof value.$tb === "number" || typeof value.$tb === "string") truncateBefore = BigInt(value.$tb);
    } catch {
      // Unreadable metadata: count everything as parked.
    }
  }
  return { truncateBefore, last };
}

/** Records that parked messages before `revision` were replayed, as EventStoreDB does ($tb). */
export async function markParkedReplayed(log: EventLog, key: string, revision: bigint): Promise<void> {
  await log.append(metastreamOf(parkedStreamOf(key)), { kind: "any" }, [
    { id: randomUUID(), type: "$metadata", contentType: JSON_TYPE, data: encode({ $tb: Number(revision) }), metadata: new Uint8Array() },
  ]);
}

/** Parked links in [from, to), each with the event it points to (links whose event is gone are dropped). */
export function readParked(log: EventLog, key: string, from: bigint, to: bigint): { link: StoredEvent; event: StoredEvent }[] {
  const result: { link: StoredEvent; event: StoredEvent }[] = [];
  if (to <= from) return result;
  const read = log.readStream(parkedStreamOf(key), { from, direction: "forwards", maxCount: to - from });
  if (read.kind !== "ok") return result;
  for (const entry of read.events) {
    const link = entry.link ?? entry.event;
    if (link.revision < from || link.revision >= to) continue;
    const target = entry.link ? entry.event : resolveLink(log, link);
    if (target) result.push({ link, event: target });
  }
  return result;
}

function resolveLink(log: EventLog, link: StoredEvent): StoredEvent | undefined {
  const text = new TextDecoder().decode(link.data);
  const at = text.indexOf("@");
  if (at <= 0) return undefined;
  const revision = text.slice(0, at);
  if (!/^\d+$/.test(revision)) return undefined;
  const read = log.readStream(text.slice(at + 1), { from: BigInt(revision), direction: "forwards", maxCount: 1n });
  if (read.kind !== "ok") return undefined;
  const event = read.events[0]?.event;
  return event && event.revision === BigInt(revision) ? event : undefined;
}

export async function deleteGroupStreams(log: EventLog, key: string): Promise<void> {
  for (const stream of [checkpointStreamOf(key), parkedStreamOf(key)]) {
    if (log.streamRevision(stream) === null) continue;
    await log.deleteStream(stream, { kind: "any" }, false);
  }
}
