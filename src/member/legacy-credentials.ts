// One-off upgrade for installations from before password hashes left the event store: moves the
// current hash of every active member from its "member_credential-<id>" stream (PasswordCredentialSet
// events) into the member_credential table, then tombstones every such stream, so that no event
// holds a hash any more (the store's scavenge then removes them from disk). Safe to run again.
import { FORWARDS, START, StreamDeletedError, type EventStoreDBClient } from "@eventstore/db-client";
import type { ReadDb } from "../kernel/read-db";
import type { MemberRepository } from "./commands";

const LEGACY_PREFIX = "member_credential-";
const LEGACY_EVENT_TYPE = "eventmall.member.v1.PasswordCredentialSet";

export interface LegacyCredentialReport {
  /** Legacy streams found (each is tombstoned). */
  streams: number;
  /** Hashes copied into member_credential. */
  copied: number;
  /** Streams of withdrawn or unknown members, or of members already in the table: not copied. */
  skipped: number;
}

export async function moveLegacyCredentials(client: EventStoreDBClient, members: MemberRepository, credentialsDb: ReadDb): Promise<LegacyCredentialReport> {
  const lastHash = new Map<string, string | undefined>();
  // The client's readAll takes no server-side filter; a one-off scan of $all is fine.
  for await (const resolved of client.readAll({ fromPosition: START, direction: FORWARDS })) {
    const event = resolved.event;
    if (!event || !event.streamId.startsWith(LEGACY_PREFIX)) continue;
    const hash = event.type === LEGACY_EVENT_TYPE ? (event.data as { passwordHash?: unknown }).passwordHash : undefined;
    lastHash.set(event.streamId, typeof hash === "string" ? hash : undefined);
  }
  const report: LegacyCredentialReport = { streams: lastHash.size, copied: 0, skipped: 0 };
  for (const [stream, passwordHash] of lastHash) {
    const memberId = stream.slice(LEGACY_PREFIX.length);
    const { state } = await members.load(memberId);
    const active = state.exists && !state.withdrawn;
    const present = (await credentialsDb.memberCredential.count({ where: { memberId } })) > 0;
    if (active && !present && passwordHash !== undefined) {
      await credentialsDb.memberCredential.create({ data: { memberId, passwordHash, version: 0, updatedAt: new Date() } });
      report.copied++;
    } else {
      report.skipped++;
    }
    try {
      await client.tombstoneStream(stream);
    } catch (error) {
      if (!(error instanceof StreamDeletedError)) throw error;
    }
  }
  return report;
}
