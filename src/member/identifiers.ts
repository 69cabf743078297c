// Uniqueness of login ids and emails without reading every member: each value has a stream
// of its own. Reserving appends IdentifierReserved with expected revision "no stream" (or the
// revision of the last event when that is a release), so of two concurrent claims the store
// lets exactly one through.
//
// A reservation can outlive its purpose when a process dies mid-command (a registration that
// never wrote its member stream, an email change never committed, a withdrawal that did not
// release). Such a reservation is stale and may be taken over once it is older than the grace
// period and the member it names does not hold the value (no such member, withdrawn, or
// another value now). The grace period covers commands still in flight.
import { NO_STREAM, WrongExpectedVersionError, type AppendExpectedRevision, type EventStoreDBClient } from "@eventstore/db-client";
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  IdentifierReleasedSchema,
  IdentifierReservedSchema,
  type IdentifierReserved,
} from "../../gen/eventmall/member/v1/credential_pb";
import type { EventMetadata } from "../kernel/write/event-codec";
import { decodePrivate, privateCodec, readLast } from "./streams";

export const DEFAULT_RESERVATION_GRACE_MS = 60_000;
const MAX_ATTEMPTS = 5;

export class IdentifierTaken extends Error {
  override readonly name = "IdentifierTaken";
  constructor(readonly stream: string) {
    super(`${stream} is reserved by another member`);
  }
}

export interface IdentifierOptions {
  graceMs: number;
  clock: () => Date;
}

/** Whether member `memberId` currently holds the value the stream stands for. */
export type HolderCheck = (memberId: string) => Promise<boolean>;

type Holder = { memberId: string; revision: bigint; reservedAt: Date } | { memberId: undefined; revision: bigint | undefined };

export class IdentifierReservations {
  constructor(
    private readonly client: EventStoreDBClient,
    private readonly options: IdentifierOptions,
  ) {}

  /** The member holding the stream's value (undefined when free or released). */
  async holderOf(stream: string): Promise<string | undefined> {
    return (await this.current(stream)).memberId;
  }

  /** Reserves the value for memberId; throws IdentifierTaken when another member holds it. */
  async reserve(stream: string, memberId: string, metadata: EventMetadata, stillHeld: HolderCheck): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const holder = await this.current(stream);
      if (holder.memberId === memberId) return;
      if (holder.memberId !== undefined && !(await this.isStale(holder, stillHeld))) throw new IdentifierTaken(stream);
      const expectedRevision: AppendExpectedRevision = holder.revision ?? NO_STREAM;
      const event = create(IdentifierReservedSchema, { memberId, reservedAt: timestampFromDate(this.options.clock()) });
      try {
        await this.client.appendToStream(stream, privateCodec.encode(IdentifierReservedSchema, event, metadata), { expectedRevision });
        return;
      } catch (error) {
        // Someone else appended first: look again at who holds it now.
        if (!(error instanceof WrongExpectedVersionError)) throw error;
      }
    }
    throw new IdentifierTaken(stream);
  }

  /** Gives the value up if memberId still holds it; a no-op otherwise. */
  async release(stream: string, memberId: string, metadata: EventMetadata): Promise<void> {
    const holder = await this.current(stream);
    if (holder.memberId !== memberId || holder.revision === undefined) return;
    const event = create(IdentifierReleasedSchema, { memberId, releasedAt: timestampFromDate(this.options.clock()) });
    try {
      await this.client.appendToStream(stream, privateCodec.encode(IdentifierReleasedSchema, event, metadata), {
        expectedRevision: holder.revision,
      });
    } catch (error) {
      // Taken over in between (it was stale): nothing left to release.
      if (!(error instanceof WrongExpectedVersionError)) throw error;
    }
  }

  private async isStale(holder: Extract<Holder, { reservedAt: Date }>, stillHeld: HolderCheck): Promise<boolean> {
    const age = this.options.clock().getTime() - holder.reservedAt.getTime();
    if (age < this.options.graceMs) return false;
    return !(await stillHeld(holder.memberId));
  }

  private async current(stream: string): Promise<Holder> {
    const last = await readLast(this.client, stream);
    if (!last) return { memberId: undefined, revision: undefined };
    if (last.type !== IdentifierReservedSchema.typeName) return { memberId: undefined, revision: last.revision };
    const reserved = decodePrivate<IdentifierReserved>(last);
    const reservedAt = reserved.reservedAt ? timestampDate(reserved.reservedAt) : last.created;
    return { memberId: reserved.memberId, revision: last.revision, reservedAt };
  }
}
