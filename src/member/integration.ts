// Member's public integration events: ids only. Nothing personal (name, login id, email, address)
// and nothing about passwords ever leaves through them.
import { MemberRegisteredSchema as PublicMemberRegistered, MemberWithdrawnSchema as PublicMemberWithdrawn } from "../../gen/eventmall/integration/v1/events_pb";
import { MemberPasswordChangedSchema, MemberProfileChangedSchema, MemberRegisteredSchema, MemberWithdrawnSchema } from "../../gen/eventmall/member/v1/events_pb";
import { defineContextMapping, message, publish, skip } from "../kernel/publisher/mapping";
import { memberAggregate } from "./decider";

export const memberIntegration = defineContextMapping({
  context: "member",
  aggregate: memberAggregate,
  rules: [
    publish(MemberRegisteredSchema, (e) => message(PublicMemberRegistered, { memberId: e.memberId, registeredAt: e.registeredAt })),
    skip(MemberProfileChangedSchema, "a profile change is personal data only (name, email, address); ids-only contract has nothing to say"),
    skip(MemberPasswordChangedSchema, "password changes are security-internal; no other service may react to them"),
    // withdrawn_by is an operator's or the member's id: who withdrew is internal audit, not contract.
    publish(MemberWithdrawnSchema, (e) => message(PublicMemberWithdrawn, { memberId: e.memberId, withdrawnAt: e.withdrawnAt })),
  ],
});
