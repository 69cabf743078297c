// Member read model: one row per member from the events of "member-<uuid>" streams. The
// context's private streams (member_login-, member_email-, member_snapshot-)
// do not match the "member-" prefix and are never projected.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  MemberPasswordChangedSchema,
  MemberProfileChangedSchema,
  MemberRegisteredSchema,
  MemberWithdrawnSchema,
  type MemberPasswordChanged,
  type MemberProfileChanged,
  type MemberRegistered,
  type MemberWithdrawn,
} from "../../gen/eventmall/member/v1/events_pb";
import { eventJson, type ProjectedEvent, type Projection } from "../kernel/read/projector";
import type { ReadTx } from "../kernel/read/read-db";
import { memberEvents, MemberStream } from "./decider";

export const MEMBER_STATUS = { active: "active", withdrawn: "withdrawn" } as const;

const codec = memberEvents;

export const memberProjection: Projection = {
  name: "member",
  filter: { streamPrefixes: [MemberStream.prefix] },
  tables: ["member"],
  async apply(tx, event) {
    if (!event.streamId.startsWith(MemberStream.prefix) || !codec.knows(event.type)) return;
    const memberId = event.streamId.slice(MemberStream.prefix.length);
    const { message } = codec.decode(event.type, eventJson(event));
    if ((message as { memberId: string }).memberId !== memberId) {
      throw new Error(`event names member "${(message as { memberId: string }).memberId}" but sits in stream ${event.streamId}`);
    }
    switch (event.type) {
      case MemberRegisteredSchema.typeName:
        return registered(tx, event, message as MemberRegistered);
      case MemberProfileChangedSchema.typeName: {
        const { name, email, address, changedAt } = message as MemberProfileChanged;
        return changed(tx, event, changedAt, (newer) => (newer ? { name, email, address } : {}));
      }
      case MemberPasswordChangedSchema.typeName: {
        const { changedAt } = message as MemberPasswordChanged;
        const at = when(changedAt, event);
        return changed(tx, event, changedAt, (_newer, row) =>
          row.passwordChangedAt === null || at > row.passwordChangedAt ? { passwordChangedAt: at } : {},
        );
      }
      case MemberWithdrawnSchema.typeName: {
        const { withdrawnAt } = message as MemberWithdrawn;
        return changed(tx, event, withdrawnAt, () => ({ status: MEMBER_STATUS.withdrawn, withdrawnAt: when(withdrawnAt, event) }));
      }
    }
  },
};

async function registered(tx: ReadTx, event: ProjectedEvent, e: MemberRegistered): Promise<void> {
  const existing = await tx.member.findUnique({ where: { id: e.memberId }, select: { id: true } });
  if (existing) return; // a second MemberRegistered for one stream cannot change what was registered
  const at = when(e.registeredAt, event);
  await tx.member.create({
    data: {
      id: e.memberId,
      loginId: e.loginId,
      name: e.name,
      email: e.email,
      address: e.address,
      status: MEMBER_STATUS.active,
      registeredAt: at,
      updatedAt: at,
      revision: event.revision,
    },
  });
}

type MemberRowState = { revision: bigint; updatedAt: Date; passwordChangedAt: Date | null };
type MemberChange = { name?: string; email?: string; address?: string; status?: string; withdrawnAt?: Date; passwordChangedAt?: Date };

/**
 * Applies a change to an existing row. A retried event may arrive after newer ones: values it
 * would overwrite are then stale (`newer` false) and left alone. Withdrawal is final, so it
 * applies whenever it arrives.
 */
async function changed(
  tx: ReadTx,
  event: ProjectedEvent,
  changedAt: Timestamp | undefined,
  change: (newer: boolean, row: MemberRowState) => MemberChange,
): Promise<void> {
  const id = event.streamId.slice(MemberStream.prefix.length);
  const row = await tx.member.findUnique({ where: { id }, select: { revision: true, updatedAt: true, passwordChangedAt: true } });
  // Thrown so the event is retried and, if its MemberRegistered never lands, parked for a replay.
  if (!row) throw new Error(`member ${id} is not in the read model yet (${event.type} at revision ${event.revision})`);
  const newer = event.revision > row.revision;
  const at = when(changedAt, event);
  await tx.member.update({
    where: { id },
    data: {
      ...change(newer, row),
      ...(newer ? { revision: event.revision } : {}),
      ...(at > row.updatedAt ? { updatedAt: at } : {}),
    },
  });
}

function when(timestamp: Timestamp | undefined, event: ProjectedEvent): Date {
  return timestamp ? timestampDate(timestamp) : event.created;
}
