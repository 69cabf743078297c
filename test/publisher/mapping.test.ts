// Every domain event type has a publish or skip rule, written next to its context; a gap fails at once.
import { describe, expect, it } from "vitest";
import { MemberProfileChangedSchema, MemberRegisteredSchema } from "../../gen/eventmall/member/v1/events_pb";
import { MemberRegisteredSchema as PublicMemberRegistered } from "../../gen/eventmall/integration/v1/events_pb";
import { memberAggregate } from "../../src/member/decider";
import { defineContextMapping, message, publish, skip } from "../../src/kernel/publisher/mapping";
import { integrationMappings } from "../../services/publisher/mappings";
import { productAggregate } from "../../src/product/decider";
import { orderAggregate } from "../../src/order/decider";

describe("integration mappings", () => {
  it("cover the three contexts' event streams", () => {
    expect(integrationMappings.map((m) => [m.context, m.streamPrefix])).toEqual([
      ["product", productAggregate.stream.prefix],
      ["member", memberAggregate.stream.prefix],
      ["order", orderAggregate.stream.prefix],
    ]);
  });

  it("refuse a context whose table leaves an event type out", () => {
    expect(() =>
      defineContextMapping({
        context: "member",
        aggregate: memberAggregate,
        rules: [publish(MemberRegisteredSchema, (e) => message(PublicMemberRegistered, { memberId: e.memberId })), skip(MemberProfileChangedSchema, "personal")],
      }),
    ).toThrow(/no publish or skip rule for eventmall\.member\.v1\.MemberPasswordChanged, eventmall\.member\.v1\.MemberWithdrawn/);
  });

  it("refuse a skip without a reason", () => {
    expect(() => skip(MemberProfileChangedSchema, " ")).toThrow(/needs a reason/);
  });
});
