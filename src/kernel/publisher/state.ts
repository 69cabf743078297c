// The publisher's durable state in a JetStream key-value bucket, next to the messages it guards:
//   checkpoint      $all position up to which every event is published and acknowledged;
//   leader          the lease naming the one publisher replica that may publish;
//   parked.<pos>    events whose mapping kept throwing (replayable).
// Every write of the checkpoint and the lease is a compare-and-set on the key's revision, so a
// replica that lost its lease (paused, partitioned) cannot move the checkpoint: its write fails
// and it steps down.
import type { Position } from "@eventstore/db-client";
import type { KV } from "@nats-io/kv";

const CHECKPOINT = "checkpoint";
const LEADER = "leader";
const PARKED = "parked";

export class LostLeadership extends Error {
  override readonly name = "LostLeadership";
}

export interface StoredCheckpoint {
  position: Position | undefined;
  /** KV revision of the checkpoint key (0: never written). */
  revision: number;
}

export async function readPublisherCheckpoint(kv: KV): Promise<StoredCheckpoint> {
  const entry = await kv.get(CHECKPOINT);
  if (!entry || entry.operation !== "PUT") return { position: undefined, revision: 0 };
  const [commit, prepare] = entry.string().split(":");
  return { position: { commit: BigInt(commit!), prepare: BigInt(prepare!) }, revision: entry.revision };
}

/** Writes the checkpoint if nobody else did since `previous`; returns the new revision. */
export async function writePublisherCheckpoint(kv: KV, position: Position, previous: number): Promise<number> {
  const value = `${position.commit}:${position.prepare}`;
  try {
    return previous === 0 ? await kv.create(CHECKPOINT, value) : await kv.update(CHECKPOINT, value, previous);
  } catch (error) {
    throw new LostLeadership(`another publisher moved the checkpoint (${error instanceof Error ? error.message : String(error)})`);
  }
}

interface LeaseValue {
  owner: string;
  /** Epoch ms until which the owner may publish without renewing. */
  until: number;
}

export interface LeaderLease {
  /** Takes the lease if it is free or expired (or renews ours); true when we hold it afterwards. */
  tryAcquire(): Promise<boolean>;
  /** Renews the lease we hold; throws LostLeadership when someone else holds it now. */
  renew(): Promise<void>;
  /** Gives the lease up (graceful stop) so a standby takes over at once. */
  release(): Promise<void>;
  readonly owner: string;
}

export function leaderLease(kv: KV, owner: string, ttlMs: number, now: () => number = Date.now): LeaderLease {
  let held: number | undefined;
  const value = () => JSON.stringify({ owner, until: now() + ttlMs } satisfies LeaseValue);
  return {
    owner,
    async tryAcquire() {
      const entry = await kv.get(LEADER);
      try {
        if (!entry || entry.operation !== "PUT") {
          held = entry ? await kv.update(LEADER, value(), entry.revision) : await kv.create(LEADER, value());
          return true;
        }
        const current = entry.json<LeaseValue>();
        if (current.owner !== owner && current.until > now()) return false;
        held = await kv.update(LEADER, value(), entry.revision);
        return true;
      } catch {
        return false; // another replica won the compare-and-set
      }
    },
    async renew() {
      if (held === undefined) throw new LostLeadership("not the leader");
      try {
        held = await kv.update(LEADER, value(), held);
      } catch (error) {
        held = undefined;
        throw new LostLeadership(`lease taken over (${error instanceof Error ? error.message : String(error)})`);
      }
    },
    async release() {
      if (held === undefined) return;
      await kv.delete(LEADER, { previousSeq: held }).catch(() => undefined);
      held = undefined;
    },
  };
}

export async function readLeader(kv: KV): Promise<LeaseValue | undefined> {
  const entry = await kv.get(LEADER);
  return entry && entry.operation === "PUT" ? entry.json<LeaseValue>() : undefined;
}

export interface ParkedEvent {
  eventId: string;
  streamId: string;
  revision: string;
  type: string;
  commit: string;
  prepare: string;
  error: string;
  parkedAt: string;
}

const parkedKey = (position: Position) => `${PARKED}.${position.commit}_${position.prepare}`;

export async function parkEvent(kv: KV, parked: ParkedEvent): Promise<void> {
  await kv.put(parkedKey({ commit: BigInt(parked.commit), prepare: BigInt(parked.prepare) }), JSON.stringify(parked));
}

export async function listParked(kv: KV): Promise<ParkedEvent[]> {
  const parked: ParkedEvent[] = [];
  for await (const key of await kv.keys(`${PARKED}.>`)) {
    const entry = await kv.get(key);
    if (entry && entry.operation === "PUT") parked.push(entry.json<ParkedEvent>());
  }
  return parked.sort((a, b) => (BigInt(a.commit) < BigInt(b.commit) ? -1 : 1));
}

export async function unpark(kv: KV, parked: ParkedEvent): Promise<void> {
  await kv.purge(parkedKey({ commit: BigInt(parked.commit), prepare: BigInt(parked.prepare) }));
}
