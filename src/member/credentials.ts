// Password hashes, kept out of the member's events: stream "member_credential-<member_id>",
// whose last PasswordCredentialSet is the current password. Only the member command service
// reads it; the projection's "member-" prefix never matches it, and withdrawal deletes it.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { NO_STREAM, StreamNotFoundError, type EventStoreDBClient } from "@eventstore/db-client";
import { PasswordCredentialSetSchema, type PasswordCredentialSet } from "../../gen/eventmall/member/v1/credential_pb";
import type { EventMetadata } from "../kernel/event-codec";
import { credentialStream, decodePrivate, privateCodec, readLast } from "./streams";

export interface StoredCredential {
  passwordHash: string;
  revision: bigint;
}

export class CredentialStore {
  constructor(
    private readonly client: EventStoreDBClient,
    private readonly clock: () => Date,
  ) {}

  async current(memberId: string): Promise<StoredCredential | undefined> {
    const last = await readLast(this.client, credentialStream(memberId));
    if (!last || last.type !== PasswordCredentialSetSchema.typeName) return undefined;
    return { passwordHash: decodePrivate<PasswordCredentialSet>(last).passwordHash, revision: last.revision };
  }

  /**
   * Stores a new hash. `after` is the revision the caller verified the old password against
   * (undefined for a new member): a concurrent change fails with WrongExpectedVersionError.
   */
  async set(memberId: string, passwordHash: string, after: bigint | undefined, metadata: EventMetadata): Promise<void> {
    const event = create(PasswordCredentialSetSchema, { memberId, passwordHash, setAt: timestampFromDate(this.clock()) });
    await this.client.appendToStream(credentialStream(memberId), privateCodec.encode(PasswordCredentialSetSchema, event, metadata), {
      expectedRevision: after ?? NO_STREAM,
    });
  }

  /** Erases the member's password hashes (soft delete; a scavenge removes them from disk). */
  async erase(memberId: string): Promise<void> {
    try {
      await this.client.deleteStream(credentialStream(memberId));
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
  }
}
