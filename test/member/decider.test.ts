// Given past events, when a command is decided, then these events (or this rule violation).
// Also the field rules (email format, login id) and the snapshot round trip.
import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import {
  MemberPasswordChangedSchema,
  MemberProfileChangedSchema,
  MemberRegisteredSchema,
  MemberWithdrawnSchema,
} from "../../gen/eventmall/member/v1/events_pb";
import { emailKey, holdsEmail, holdsLoginId, memberDecider, memberSnapshotCodec, type MemberCommand } from "../../src/member/decider";
import { hashPassword, verifyPassword } from "../../src/member/password";
import { isEmail } from "../../src/member/rules";
import { deciderSpec, violationOf } from "../support/decider-spec";

const memberId = "5f0c1e2d-3b4a-4c5d-8e6f-7a8b9c0d1e2f";
const registeredAt = new Date("2026-01-02T03:04:05.678Z");
const now = new Date("2026-02-03T04:05:06.789Z");

const registered = create(MemberRegisteredSchema, {
  memberId,
  loginId: "hana_kim",
  name: "Hana Kim",
  email: "Hana@Example.com",
  address: "1 Main St",
  registeredAt: timestampFromDate(registeredAt),
});
const withdrawn = create(MemberWithdrawnSchema, { memberId, withdrawnAt: timestampFromDate(now), withdrawnBy: memberId });

const given = deciderSpec(memberDecider);


const register = (overrides: Partial<Extract<MemberCommand, { type: "RegisterMember" }>> = {}): MemberCommand => ({
  type: "RegisterMember",
  memberId,
  loginId: "hana_kim",
  name: " Hana Kim ",
  email: " Hana@Example.com ",
  address: "1 Main St",
  now: registeredAt,
  ...overrides,
});

describe("RegisterMember", () => {
  it("given no member, registers it with trimmed fields and the command's time", () => {
    expect(given([]).when(register())()).toEqual([registered]);
  });

  it("given a registered member, is ALREADY_EXISTS", () => {
    expect(violationOf(given([registered]).when(register())).kind).toBe("already_exists");
  });

  it("reports every broken field rule", () => {
    const violation = violationOf(given([]).when(register({ loginId: "No", name: "", email: "x@", address: "" })));
    expect(violation.kind).toBe("invalid_argument");
    expect(violation.fieldViolations.map((v) => v.field)).toEqual(["login_id", "name", "email", "address"]);
  });
});

describe("ChangeProfile", () => {
  it("emits the whole new profile, keeping unset fields", () => {
    const events = given([registered]).when({ type: "ChangeProfile", memberId, email: "new@example.org", now })();
    expect(events).toEqual([
      create(MemberProfileChangedSchema, { memberId, name: "Hana Kim", email: "new@example.org", address: "1 Main St", changedAt: timestampFromDate(now) }),
    ]);
    const after = given([registered, ...events]).state;
    expect(after).toMatchObject({ exists: true, email: "new@example.org", name: "Hana Kim" });
  });

  it("emits nothing when nothing changes", () => {
    expect(given([registered]).when({ type: "ChangeProfile", memberId, name: "Hana Kim", now })()).toEqual([]);
  });

  it("is NOT_FOUND for an unknown member and FAILED_PRECONDITION once withdrawn", () => {
    expect(violationOf(given([]).when({ type: "ChangeProfile", memberId, name: "X", now })).kind).toBe("not_found");
    const violation = violationOf(given([registered, withdrawn]).when({ type: "ChangeProfile", memberId, name: "X", now }));
    expect(violation.kind).toBe("failed_precondition");
    expect(violation.reason).toBe("MEMBER_WITHDRAWN");
  });

  it("rejects an invalid new email", () => {
    expect(violationOf(given([registered]).when({ type: "ChangeProfile", memberId, email: "no-at-sign", now })).kind).toBe("invalid_argument");
  });
});

describe("ChangePassword and WithdrawMember", () => {
  it("records a password change without any secret", () => {
    const [event] = given([registered]).when({ type: "ChangePassword", memberId, now })();
    expect(event).toEqual(create(MemberPasswordChangedSchema, { memberId, changedAt: timestampFromDate(now) }));
  });

  it("withdraws once; the member then holds neither login id nor email", () => {
    const events = given([registered]).when({ type: "WithdrawMember", memberId, withdrawnBy: memberId, now })();
    expect(events).toEqual([withdrawn]);
    const before = given([registered]).state;
    const after = given([registered, withdrawn]).state;
    expect(holdsLoginId(before, "hana_kim") && holdsEmail(before, "hana@EXAMPLE.com")).toBe(true);
    expect(holdsLoginId(after, "hana_kim") || holdsEmail(after, "hana@example.com")).toBe(false);
    expect(violationOf(given([registered, withdrawn]).when({ type: "WithdrawMember", memberId, withdrawnBy: memberId, now })).kind).toBe(
      "failed_precondition",
    );
  });
});

describe("snapshots", () => {
  it("round-trip the state", () => {
    for (const events of [[registered], [registered, withdrawn]]) {
      const state = given(events).state;
      const data = memberSnapshotCodec.encode(state);
      expect(JSON.stringify(data)).not.toMatch(/password/i);
      expect(memberSnapshotCodec.decode(JSON.parse(JSON.stringify(data)))).toEqual(state);
    }
    expect(memberSnapshotCodec.encode(memberDecider.initialState())).toBeUndefined();
  });
});

describe("field rules", () => {
  it("accepts real email addresses and refuses malformed ones", () => {
    for (const ok of ["a@b.co", "first.last+tag@sub.example.org", "o'neil@example.ie", "x_y@a-b.example.museum"]) expect(isEmail(ok), ok).toBe(true);
    for (const bad of ["", "plain", "@example.com", "a@", "a@b", "a@b.", "a@.b.com", "a..b@c.com", ".a@b.com", "a.@b.com", "a@b_c.com", "a@b.c", "a@b.123", "a b@c.com", "a@b@c.com", `${"l".repeat(65)}@b.com`, `a@${"d".repeat(64)}.com`]) {
      expect(isEmail(bad), bad).toBe(false);
    }
  });

  it("folds emails case-insensitively for uniqueness", () => {
    fc.assert(fc.property(fc.emailAddress(), (email) => emailKey(email.toUpperCase()) === emailKey(` ${email} `)));
  });
});

describe("password hashing", () => {
  const cost = { log2N: 10, r: 8, p: 1 };
  it("verifies the right password only, with a fresh salt each time and parameters in the hash", async () => {
    const first = await hashPassword("correct horse battery", cost);
    const second = await hashPassword("correct horse battery", cost);
    expect(first).toMatch(/^scrypt\$10\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain("correct horse battery");
    expect(await verifyPassword("correct horse battery", first)).toBe(true);
    expect(await verifyPassword("correct horse battery", second)).toBe(true);
    expect(await verifyPassword("correct horse batterY", first)).toBe(false);
    for (const garbage of ["", "scrypt$", "scrypt$99$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAA", "bcrypt$x"]) {
      expect(await verifyPassword("correct horse battery", garbage)).toBe(false);
    }
  });
});
