// The events a fresh EventStoreDB node writes before any client does: its first epoch and the
// default users' records (admin, ops). Written once, into an empty log, so that $all starts as a
// real node's does and readers that skip system streams ("$"-prefixed) are exercised from the start.
import { randomUUID } from "node:crypto";
import type { EventLog, ProposedEvent } from "./log";

export const EPOCH_STREAM = "$epoch-information";
export const USERS_STREAM = "$users";
export const DEFAULT_USERS = [
  { loginName: "admin", fullName: "Event Store Administrator", groups: ["$admins"] },
  { loginName: "ops", fullName: "Event Store Operations", groups: ["$ops"] },
] as const;

const json = (type: string, data: unknown): ProposedEvent => ({
  id: randomUUID(),
  type,
  contentType: "application/json",
  data: Buffer.from(JSON.stringify(data)),
  metadata: new Uint8Array(0),
});

/** Writes a fresh node's system events into `log` if it is empty; returns whether it wrote them. */
export async function writeSystemEventsIfFresh(log: EventLog, instanceId: string): Promise<boolean> {
  if (log.lastPosition() >= 0n) return false;
  const epoch = {
    epochNumber: 0,
    epochId: randomUUID(),
    epochPosition: 0,
    prevEpochPosition: -1,
    timeStamp: new Date().toISOString(),
    leaderInstanceId: instanceId,
  };
  await log.append(EPOCH_STREAM, { kind: "no_stream" }, [json("$epoch-information", epoch)]);
  for (const user of DEFAULT_USERS) {
    // The records a real node keeps for its default users, without credentials (the store has no authentication).
    await log.append(`$user-${user.loginName}`, { kind: "no_stream" }, [json("$user", { ...user, disabled: false })]);
    await log.append(USERS_STREAM, { kind: "any" }, [json("$UserCreated", user.loginName)]);
  }
  return true;
}
