// MemberCommandService: registration with unique login ids and emails, profile and password
// changes, withdrawal, and Login (password check → signed access token). Passwords and their
// hashes are never logged, returned or put in any event: hashes live in the member_credential
// table (credentials.ts), which withdrawal erases.
import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { EventStoreDBClient } from "@eventstore/db-client";
import { MemberCommandService } from "../../gen/eventmall/member/v1/commands_pb";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb";
import { ADMIN_ROLE, type Caller, type TokenService } from "../kernel/auth/auth";
import type { ErrorLogger } from "../kernel/write/command-errors";
import { commandHandler } from "../kernel/write/command-handler";
import { DomainRuleViolation } from "../kernel/write/decider";
import type { EventMetadata } from "../kernel/write/event-codec";
import { ERROR_DOMAIN, alreadyExists, failedPrecondition, invalidArgument, notFound, permissionDenied, unauthenticated } from "../kernel/grpc/errors";
import { isUuid } from "../kernel/grpc/fields";
import type { ReadDb } from "../kernel/read/read-db";
import type { AggregateRepository, HandleResult } from "../kernel/write/repository";
import { writeResult } from "../kernel/write/write-result";
import { CredentialConflict, CredentialStore } from "./credentials";
import { emailKey, holdsEmail, holdsLoginId, memberCommandViolations, type MemberCommand, type MemberEvent, type MemberState } from "./decider";
import { DEFAULT_RESERVATION_GRACE_MS, IdentifierReservations, IdentifierTaken } from "./identifiers";
import { DEFAULT_SCRYPT_COST, hashPassword, spendVerificationTime, verifyPassword, type ScryptCost } from "./password";
import { LOGIN_ID_PATTERN, PASSWORD_MAX_LENGTH, passwordViolation, targetMemberId } from "./rules";
import { emailStream, loginIdStream } from "./streams";

export type MemberRepository = AggregateRepository<MemberState, MemberCommand, MemberEvent>;

/** Role every member's token carries (admins listed in ADMIN_LOGIN_IDS get "admin" too). */
export const MEMBER_ROLE = "member";

export interface MemberCommandDependencies {
  client: EventStoreDBClient;
  repository: MemberRepository;
  /** Holds the member_credential table (config CREDENTIALS_DATABASE_URL). */
  credentialsDb: ReadDb;
  tokens: TokenService;
  logger: ErrorLogger & { warn(details: object, message: string): void };
  /** Login ids whose tokens get the admin role (config ADMIN_LOGIN_IDS). */
  adminLoginIds?: readonly string[];
  passwordCost?: ScryptCost;
  reservationGraceMs?: number;
  /** Called once a withdrawal is stored: lets this process refuse the member's tokens at once. */
  onWithdrawn?: (memberId: string) => void;
  clock?: () => Date;
  newMemberId?: () => string;
}

/** One answer for every failed login, so it does not tell which login ids exist. */
const LOGIN_FAILED = "invalid login id or password";

export function memberCommandService(deps: MemberCommandDependencies): ServiceImpl<typeof MemberCommandService> {
  const clock = deps.clock ?? (() => new Date());
  const newMemberId = deps.newMemberId ?? randomUUID;
  const cost = deps.passwordCost ?? DEFAULT_SCRYPT_COST;
  const admins = new Set(deps.adminLoginIds ?? []);
  const reservations = new IdentifierReservations(deps.client, { graceMs: deps.reservationGraceMs ?? DEFAULT_RESERVATION_GRACE_MS, clock });
  const credentials = new CredentialStore(deps.credentialsDb, clock);
  const { repository } = deps;
  const handler = commandHandler({ ...deps, fieldRules: memberCommandViolations });
  const { guarded } = handler;

  const holdsLoginIdNow = (loginId: string) => async (memberId: string) => holdsLoginId((await repository.load(memberId)).state, loginId);
  const holdsEmailNow = (email: string) => async (memberId: string) => holdsEmail((await repository.load(memberId)).state, email);

  async function reserveEmail(email: string, memberId: string, metadata: EventMetadata): Promise<void> {
    try {
      await reservations.reserve(emailStream(email), memberId, metadata, holdsEmailNow(email));
    } catch (error) {
      if (error instanceof IdentifierTaken) throw alreadyExists("this email is already registered", "EMAIL_TAKEN");
      throw error;
    }
  }

  /** The member the caller's token names, loaded, active. */
  async function activeMember(caller: Caller): Promise<Extract<MemberState, { exists: true }>> {
    if (!isUuid(caller.subject)) throw notFound("the caller is not a member");
    const { state } = await guarded(() => repository.load(caller.subject));
    if (!state.exists) throw notFound("the caller is not a member");
    if (state.withdrawn) throw failedPrecondition("this member has withdrawn", "MEMBER_WITHDRAWN");
    return state;
  }

  /** Cleanup whose failure must not fail the command: a stale reservation is reclaimed later. */
  async function bestEffort(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      deps.logger.warn({ err: error, what }, "member cleanup failed; left for later reclaim");
    }
  }

  return {
    async registerMember(request, context) {
      const command: MemberCommand = {
        type: "RegisterMember",
        memberId: newMemberId(),
        loginId: request.loginId,
        name: request.name,
        email: request.email,
        address: request.address,
        now: clock(),
      };
      // The password is no field of the command: checked here, reported after the command's fields.
      handler.validate([...memberCommandViolations(command), passwordViolation("password", request.password)]);
      const { memberId } = command;
      const register = async (metadata: EventMetadata) => {
        // Hash first: the fewer steps between reservation and registration, the smaller the window.
        const passwordHash = await hashPassword(request.password, cost);
        try {
          await reservations.reserve(loginIdStream(request.loginId), memberId, metadata, holdsLoginIdNow(request.loginId));
        } catch (error) {
          if (error instanceof IdentifierTaken) throw alreadyExists(`login id "${request.loginId}" is taken`, "LOGIN_ID_TAKEN");
          throw error;
        }
        const releaseLoginId = () => bestEffort("release login id", () => reservations.release(loginIdStream(request.loginId), memberId, metadata));
        try {
          await reserveEmail(request.email, memberId, metadata);
        } catch (error) {
          await releaseLoginId();
          throw error;
        }
        // The credential row before the member: a member must never exist without a password.
        // A crash between the two leaves a row no member ever claims (harmless; member ids are
        // fresh UUIDs, and a registration of the same id would overwrite it).
        try {
          await credentials.set(memberId, passwordHash, undefined);
          return await repository.handle(memberId, command, { metadata });
        } catch (error) {
          // Undo, so that no hash outlives a failed registration and the client's retry (a new
          // member id) is not refused its own values; unless the registration did land (only its
          // answer was lost) or that cannot be told, which keeps everything.
          let landed = true;
          await bestEffort("check registration", async () => {
            landed = (await repository.load(memberId)).state.exists;
          });
          if (!landed) {
            await bestEffort("erase credential", () => credentials.erase(memberId));
            await releaseLoginId();
            await bestEffort("release email", () => reservations.release(emailStream(request.email), memberId, metadata));
          }
          throw error;
        }
      };
      const outcome = await handler.execute(context, { id: memberId, command, write: register });
      return { memberId, result: writeResult(outcome) };
    },

    async changeProfile(request, context) {
      const caller = await handler.authorize(context);
      const command: MemberCommand = {
        type: "ChangeProfile",
        memberId: caller.subject,
        name: request.name,
        email: request.email,
        address: request.address,
        now: clock(),
      };
      handler.validate(memberCommandViolations(command));
      const before = await activeMember(caller);
      const newEmail = request.email !== undefined && emailKey(request.email) !== emailKey(before.email) ? request.email : undefined;
      const change = async (metadata: EventMetadata) => {
        if (newEmail !== undefined) await reserveEmail(newEmail, caller.subject, metadata);
        let result: HandleResult<MemberState, MemberEvent>;
        try {
          result = await repository.handle(caller.subject, command, { metadata, expectedRevision: request.expectedRevision });
        } catch (error) {
          if (newEmail !== undefined) await bestEffort("release new email", () => reservations.release(emailStream(newEmail), caller.subject, metadata));
          throw error;
        }
        const after = result.state;
        if (after.exists && emailKey(after.email) !== emailKey(before.email)) {
          await bestEffort("release old email", () => reservations.release(emailStream(before.email), caller.subject, metadata));
        }
        return result;
      };
      const outcome = await handler.execute(context, { id: caller.subject, command, write: change });
      return { result: writeResult(outcome) };
    },

    async changePassword(request, context) {
      const caller = await handler.authorize(context);
      handler.validate([
        request.oldPassword === "" ? { field: "old_password", description: "must not be empty" } : undefined,
        passwordViolation("new_password", request.newPassword),
      ]);
      await activeMember(caller);
      const memberId = caller.subject;
      const command: MemberCommand = { type: "ChangePassword", memberId, now: clock() };
      const change = async (metadata: EventMetadata) => {
        const stored = await credentials.current(memberId);
        const matches =
          stored !== undefined && request.oldPassword.length <= PASSWORD_MAX_LENGTH && (await verifyPassword(request.oldPassword, stored.passwordHash));
        if (!stored || !matches) throw permissionDenied("the old password does not match", "WRONG_PASSWORD");
        const passwordHash = await hashPassword(request.newPassword, cost);
        try {
          await credentials.set(memberId, passwordHash, stored.version);
        } catch (error) {
          if (error instanceof CredentialConflict) {
            throw new ConnectError("the password was changed concurrently; retry with the current password", Code.Aborted, undefined, [
              { desc: ErrorInfoSchema, value: { reason: "PASSWORD_CHANGED_CONCURRENTLY", domain: ERROR_DOMAIN } },
            ]);
          }
          throw error;
        }
        // Stamped once the password is verified and hashed: the event's time is the change's.
        return repository.handle(memberId, { ...command, now: clock() }, { metadata });
      };
      return { result: writeResult(await handler.execute(context, { id: memberId, command, write: change })) };
    },

    async withdrawMember(request, context) {
      const caller = await handler.authorize(context);
      const memberId = targetMemberId(request.memberId, caller);
      const command: MemberCommand = { type: "WithdrawMember", memberId, withdrawnBy: caller.subject, now: clock() };
      const withdraw = async (metadata: EventMetadata) => {
        let outcome: HandleResult<MemberState, MemberEvent>;
        try {
          outcome = await repository.handle(memberId, command, { metadata });
        } catch (error) {
          // Withdrawing again finishes an erasure an earlier withdrawal could not do.
          if (error instanceof DomainRuleViolation && error.reason === "MEMBER_WITHDRAWN") {
            await bestEffort("erase credential", () => credentials.erase(memberId));
          }
          throw error;
        }
        const member = outcome.state;
        if (member.exists && member.withdrawn) deps.onWithdrawn?.(memberId);
        if (member.exists) {
          await bestEffort("erase credential", () => credentials.erase(memberId));
          await bestEffort("release login id", () => reservations.release(loginIdStream(member.loginId), memberId, metadata));
          await bestEffort("release email", () => reservations.release(emailStream(member.email), memberId, metadata));
        }
        return outcome;
      };
      return { result: writeResult(await handler.execute(context, { id: memberId, command, write: withdraw })) };
    },

    async login(request) {
      const { loginId, password } = request;
      // A request without the fields (`{}`, or a client that named them differently) is malformed, not a failed login.
      const missing = [
        ...(loginId === "" ? [{ field: "login_id", description: "is required" }] : []),
        ...(password === "" ? [{ field: "password", description: "is required" }] : []),
      ];
      if (missing.length > 0) throw invalidArgument(missing, "invalid Login request");
      // Too long to be anyone's password: no account lookup, no hashing work.
      if (!LOGIN_ID_PATTERN.test(loginId) || password === "" || password.length > PASSWORD_MAX_LENGTH) {
        throw unauthenticated(LOGIN_FAILED, "LOGIN_FAILED");
      }
      const account = await guarded(async () => {
        const memberId = await reservations.holderOf(loginIdStream(loginId));
        if (memberId === undefined) return undefined;
        const { state } = await repository.load(memberId);
        if (!holdsLoginId(state, loginId)) return undefined;
        const stored = await credentials.current(memberId);
        return stored && { memberId, passwordHash: stored.passwordHash };
      });
      if (!account) {
        await spendVerificationTime(password, cost);
        throw unauthenticated(LOGIN_FAILED, "LOGIN_FAILED");
      }
      if (!(await verifyPassword(password, account.passwordHash))) throw unauthenticated(LOGIN_FAILED, "LOGIN_FAILED");
      const roles = admins.has(loginId) ? [MEMBER_ROLE, ADMIN_ROLE] : [MEMBER_ROLE];
      const issued = await deps.tokens.issue({ subject: account.memberId, roles });
      return { accessToken: issued.token, expiresAt: timestampFromDate(issued.expiresAt), memberId: account.memberId, roles };
    },
  };
}
