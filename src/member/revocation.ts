// A withdrawn member's tokens are refused everywhere: MemberWithdrawn events revoke the member id
// (the tokens' subject) in every command and query process (src/kernel/revocations.ts).
import type { EventStoreDBClient } from "@eventstore/db-client";
import { MemberWithdrawnSchema } from "../../gen/eventmall/member/v1/events_pb";
import { RevokedSubjects, type RevocationFeed, type RevocationLogger } from "../kernel/revocations";
import { MEMBER_STREAM_PREFIX } from "./projection";

export const withdrawnMembers: RevocationFeed = {
  eventTypes: [MemberWithdrawnSchema.typeName],
  subjectOf: ({ streamId }) => (streamId.startsWith(MEMBER_STREAM_PREFIX) ? streamId.slice(MEMBER_STREAM_PREFIX.length) : undefined),
};

/** Started and caught up: knows every member withdrawn so far, and follows new withdrawals. */
export async function startWithdrawnMemberRevocations(client: EventStoreDBClient, logger: RevocationLogger): Promise<RevokedSubjects> {
  const revoked = new RevokedSubjects(client, withdrawnMembers, logger);
  await revoked.start();
  return revoked;
}
