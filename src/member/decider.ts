// The Member aggregate: pure rules over its events. Time arrives in the command (`now`), so
// replaying the same events always yields the same state. Passwords never reach this
// aggregate: their hashes live in the member_credential table (credentials.ts).
import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  MemberPasswordChangedSchema,
  MemberProfileChangedSchema,
  MemberRegisteredSchema,
  MemberSnapshotSchema,
  MemberWithdrawnSchema,
  type MemberPasswordChanged,
  type MemberProfileChanged,
  type MemberRegistered,
  type MemberWithdrawn,
} from "../../gen/eventmall/member/v1/events_pb";
import { DomainRuleViolation, type Decider, type FieldViolation } from "../kernel/write/decider";
import { streamCategory, type AggregateDefinition } from "../kernel/write/aggregate";
import { EventCodec } from "../kernel/write/event-codec";
import type { SnapshotCodec } from "../kernel/write/snapshots";
import { profileViolations } from "./rules";

export interface Profile {
  name: string;
  email: string;
  address: string;
}

export interface Member extends Profile {
  memberId: string;
  loginId: string;
  registeredAt: Timestamp;
  withdrawn: boolean;
}

export type MemberState = { exists: false } | ({ exists: true } & Member);

export type MemberCommand =
  | ({ type: "RegisterMember"; memberId: string; loginId: string; now: Date } & Profile)
  | ({ type: "ChangeProfile"; memberId: string; now: Date } & Partial<Profile>)
  | { type: "ChangePassword"; memberId: string; now: Date }
  | { type: "WithdrawMember"; memberId: string; withdrawnBy: string; now: Date };

export type MemberEvent = MemberRegistered | MemberProfileChanged | MemberPasswordChanged | MemberWithdrawn;

/** Member streams: "member-<id>" (the context's private streams use "member_", see streams.ts). */
export const MemberStream = streamCategory("member");

export const memberEventMessages = [
  MemberRegisteredSchema,
  MemberProfileChangedSchema,
  MemberPasswordChangedSchema,
  MemberWithdrawnSchema,
] as const;

export const memberEvents = new EventCodec(memberEventMessages);

/** Field rules of a command (field names as in the contract). */
export function memberCommandViolations(command: MemberCommand): FieldViolation[] {
  switch (command.type) {
    case "RegisterMember":
      return profileViolations(command, { loginId: command.loginId, requireAll: true });
    case "ChangeProfile":
      return profileViolations(command, { requireAll: false });
    default:
      return [];
  }
}

/** The case-insensitive form under which an email is unique. */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

function decide(command: MemberCommand, state: MemberState): MemberEvent[] {
  const violations = memberCommandViolations(command);
  if (violations.length > 0) throw DomainRuleViolation.invalidArgument(violations);
  const { memberId } = command;
  const at = timestampFromDate(command.now);

  if (command.type === "RegisterMember") {
    if (state.exists) throw DomainRuleViolation.alreadyExists(`member ${memberId} already exists`);
    return [
      create(MemberRegisteredSchema, {
        memberId,
        loginId: command.loginId,
        name: command.name.trim(),
        email: command.email.trim(),
        address: command.address.trim(),
        registeredAt: at,
      }),
    ];
  }

  if (!state.exists) throw DomainRuleViolation.notFound(`member ${memberId} not found`);
  if (state.withdrawn) throw DomainRuleViolation.failedPrecondition(`member ${memberId} has withdrawn`, "MEMBER_WITHDRAWN");
  switch (command.type) {
    case "ChangeProfile": {
      const next: Profile = {
        name: command.name?.trim() ?? state.name,
        email: command.email?.trim() ?? state.email,
        address: command.address?.trim() ?? state.address,
      };
      if (next.name === state.name && next.email === state.email && next.address === state.address) return [];
      return [create(MemberProfileChangedSchema, { memberId, ...next, changedAt: at })];
    }
    case "ChangePassword":
      return [create(MemberPasswordChangedSchema, { memberId, changedAt: at })];
    case "WithdrawMember":
      return [create(MemberWithdrawnSchema, { memberId, withdrawnAt: at, withdrawnBy: command.withdrawnBy })];
  }
}

function evolve(state: MemberState, event: MemberEvent): MemberState {
  if (event.$typeName === "eventmall.member.v1.MemberRegistered") {
    const { memberId, loginId, name, email, address } = event;
    return { exists: true, memberId, loginId, name, email, address, registeredAt: event.registeredAt ?? epoch(), withdrawn: false };
  }
  // Events of a member that was never registered cannot come from this decider; ignore them.
  if (!state.exists) return state;
  switch (event.$typeName) {
    case "eventmall.member.v1.MemberProfileChanged":
      return { ...state, name: event.name, email: event.email, address: event.address };
    case "eventmall.member.v1.MemberPasswordChanged":
      return state;
    case "eventmall.member.v1.MemberWithdrawn":
      return { ...state, withdrawn: true };
  }
}

/** Whether the member (as of `state`) currently holds this email. */
export function holdsEmail(state: MemberState, email: string): boolean {
  return state.exists && !state.withdrawn && emailKey(state.email) === emailKey(email);
}

export function holdsLoginId(state: MemberState, loginId: string): boolean {
  return state.exists && !state.withdrawn && state.loginId === loginId;
}

function epoch(): Timestamp {
  return timestampFromDate(new Date(0));
}

export const memberDecider: Decider<MemberState, MemberCommand, MemberEvent> = {
  initialState: () => ({ exists: false }),
  decide,
  evolve,
};

export const memberSnapshotCodec: SnapshotCodec<MemberState> = {
  type: MemberSnapshotSchema.typeName,
  schemaVersion: 1,
  encode(state) {
    if (!state.exists) return undefined;
    const { exists: _exists, ...member } = state;
    return toJson(MemberSnapshotSchema, create(MemberSnapshotSchema, member)) as never;
  },
  decode(data) {
    const { $typeName: _typeName, registeredAt, ...member } = fromJson(MemberSnapshotSchema, data as never);
    return { exists: true, ...member, registeredAt: registeredAt ?? epoch() };
  },
};

export const memberAggregate: AggregateDefinition<MemberState, MemberCommand, MemberEvent> = {
  stream: MemberStream,
  decider: memberDecider,
  events: memberEventMessages,
  snapshot: memberSnapshotCodec,
};
