// A withdrawn member's tokens are refused everywhere: MemberWithdrawn events revoke the member id
// (the tokens' subject) in every command and query process (src/kernel/auth/revocations.ts).
import type { EventStoreDBClient } from "@eventstore/db-client";
import { MemberWithdrawnSchema } from "../../gen/eventmall/member/v1/events_pb";
import { RevokedSubjects, type RevocationFeed, type RevocationLogger } from "../kernel/auth/revocations";
import { MemberStream } from "./decider";

export const withdrawnMembers: RevocationFeed = {
  eventTypes: [MemberWithdrawnSchema.typeName],
  subjectOf: ({ streamId }) => MemberStream.idOf(streamId),
};

/**
 * Follows withdrawals; resolves once it knows every member withdrawn so far, or at once when the
 * store does not answer (then token calls get UNAVAILABLE until it does; anonymous calls are served).
 */
export async function startWithdrawnMemberRevocations(client: EventStoreDBClient, logger: RevocationLogger): Promise<RevokedSubjects> {
  const revoked = new RevokedSubjects(client, withdrawnMembers, logger);
  if (!(await revoked.start())) logger.warn({}, "serving before token revocations are loaded: calls with a token answer UNAVAILABLE until the event store answers");
  return revoked;
}
