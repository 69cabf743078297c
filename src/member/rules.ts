// Field rules of member requests, shared by the decider and the command and query handlers. Every broken
// rule is reported, with the field named as in the contract.
import { ADMIN_ROLE, requireRole, type Caller } from "../kernel/auth/auth";
import { invalidArgument, notFound } from "../kernel/grpc/errors";
import { isUuid } from "../kernel/grpc/fields";
import type { FieldViolation } from "../kernel/write/decider";

export const LOGIN_ID_PATTERN = /^[a-z0-9_]{4,20}$/;
export const NAME_MAX_LENGTH = 50;
export const ADDRESS_MAX_LENGTH = 200;
export const EMAIL_MAX_LENGTH = 254;
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

// The HTML living standard's "valid email address" (what browsers accept), plus what mail
// actually needs: a dotted domain with a letter-only TLD, a local part of at most 64
// characters without leading, trailing or doubled dots.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const TOP_LEVEL_DOMAIN = /^[A-Za-z]{2,63}$/;

export function isEmail(value: string): boolean {
  if (value.length > EMAIL_MAX_LENGTH) return false;
  const at = value.lastIndexOf("@");
  if (at < 1) return false;
  const local = value.slice(0, at);
  const labels = value.slice(at + 1).split(".");
  return (
    local.length <= 64 &&
    LOCAL_PART.test(local) &&
    labels.length >= 2 &&
    labels.every((label) => DOMAIN_LABEL.test(label)) &&
    TOP_LEVEL_DOMAIN.test(labels.at(-1)!)
  );
}

const length = (value: string) => [...value].length;

export function loginIdViolation(loginId: string): FieldViolation | undefined {
  return LOGIN_ID_PATTERN.test(loginId)
    ? undefined
    : { field: "login_id", description: "must be 4 to 20 characters of a-z, 0-9 and _" };
}

export function emailViolation(email: string): FieldViolation | undefined {
  return isEmail(email.trim()) ? undefined : { field: "email", description: "must be an email address like name@example.com" };
}

export function passwordViolation(field: string, password: string): FieldViolation | undefined {
  const n = length(password);
  if (n < PASSWORD_MIN_LENGTH || n > PASSWORD_MAX_LENGTH) {
    return { field, description: `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters` };
  }
  return undefined;
}

function textViolation(field: string, value: string, max: number): FieldViolation | undefined {
  const n = length(value.trim());
  if (n === 0) return { field, description: "must not be empty" };
  if (n > max) return { field, description: `must be at most ${max} characters` };
  return undefined;
}

/** Rules of a profile; with requireAll false, absent fields are left out (ChangeProfile). */
export function profileViolations(
  profile: { name?: string; email?: string; address?: string },
  options: { loginId?: string; requireAll: boolean },
): FieldViolation[] {
  const found: (FieldViolation | undefined)[] = [];
  if (options.loginId !== undefined) found.push(loginIdViolation(options.loginId));
  if (options.requireAll || profile.name !== undefined) found.push(textViolation("name", profile.name ?? "", NAME_MAX_LENGTH));
  if (options.requireAll || profile.email !== undefined) found.push(emailViolation(profile.email ?? ""));
  if (options.requireAll || profile.address !== undefined) found.push(textViolation("address", profile.address ?? "", ADDRESS_MAX_LENGTH));
  return found.filter((v): v is FieldViolation => v !== undefined);
}

/**
 * The member a request names (member_id, lower-cased), or the caller's own when it names none.
 * Another member's needs the admin role; an id that is no UUID is INVALID_ARGUMENT, a caller that
 * is no member (an operator token) NOT_FOUND.
 */
export function targetMemberId(requested: string, caller: Caller): string {
  const memberId = requested === "" ? caller.subject : requested.toLowerCase();
  if (memberId !== caller.subject) requireRole(caller, ADMIN_ROLE);
  if (!isUuid(memberId)) {
    if (requested === "") throw notFound("the caller is not a member");
    throw invalidArgument([{ field: "member_id", description: "must be a member id (UUID)" }]);
  }
  return memberId;
}
