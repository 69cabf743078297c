// The member context's private streams (never projected): reservations of unique values.
// (Password hashes are not in any stream: see credentials.ts.) Their names use "_" after "member" so that the "member-" prefix the
// projection subscribes to never matches them.
import { createHash } from "node:crypto";
import { BACKWARDS, END, StreamNotFoundError, type EventStoreDBClient, type RecordedEvent } from "@eventstore/db-client";
import { IdentifierReleasedSchema, IdentifierReservedSchema } from "../../gen/eventmall/member/v1/credential_pb";
import { EventCodec } from "../kernel/write/event-codec";
import { emailKey } from "./decider";

export const privateCodec = new EventCodec([IdentifierReservedSchema, IdentifierReleasedSchema]);

export const loginIdStream = (loginId: string) => `member_login-${loginId}`;
/** Hashed: bounded stream names, and no email address in a stream name. */
export const emailStream = (email: string) => `member_email-${createHash("sha256").update(emailKey(email)).digest("hex")}`;

/** The last event of a stream, or undefined when it does not exist (or was deleted). */
export async function readLast(client: EventStoreDBClient, stream: string): Promise<RecordedEvent | undefined> {
  let last: RecordedEvent | undefined;
  try {
    // Drain the read fully: an abandoned for-await leaves the gRPC call open.
    for await (const resolved of client.readStream(stream, { fromRevision: END, direction: BACKWARDS, maxCount: 1 })) {
      if (resolved.event) last = resolved.event;
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return last;
}

export function decodePrivate<T>(recorded: RecordedEvent): T {
  return privateCodec.decode(recorded.type, recorded.data).message as T;
}
