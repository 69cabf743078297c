// MemberCommandService end to end: a real gRPC client, the command server in-process, and the
// embedded store behind it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { FORWARDS, START } from "@eventstore/db-client";
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { IdentifierReservedSchema } from "../../gen/eventmall/member/v1/credential_pb";
import { bind, startGrpcServer } from "../../src/kernel/grpc/server";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { AggregateRepository, type HandleOptions } from "../../src/kernel/write/repository";
import { memberCommandService } from "../../src/member/commands";
import { memberAggregate, type MemberCommand, type MemberEvent, type MemberState } from "../../src/member/decider";
import { emailStream, loginIdStream, privateCodec } from "../../src/member/streams";
import { Writable } from "node:stream";
import { pino } from "pino";
import { MemberCommandService, type RegisterMemberRequest } from "../../gen/eventmall/member/v1/commands_pb";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb";
import { ADMIN_ROLE, type TokenService } from "../../src/kernel/auth/auth";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { bearer, testTokenService } from "../kernel/auth-fixtures";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";
import { startCommandServer, type RunningCommandServer } from "../../services/command/server";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Real scrypt at a lower cost than production, to keep the suite quick on a shared machine.
const TEST_COST = { log2N: 12, r: 8, p: 1 };

let store: StoreUnderTest;
/** Holds the member_credential table the service keeps password hashes in. */
let credentialsDatabase: TestReadDb;
let credentialsDb: ReadDb;
let server: RunningCommandServer;
let tokens: TokenService;
let members: Client<typeof MemberCommandService>;
const passwordsUsed = new Set<string>();
// Everything the services log, at the most verbose level, to check no secret reaches the logs.
const logLines: string[] = [];
const logger = pino({ level: "trace" }, new Writable({ write: (chunk, _encoding, done) => (logLines.push(String(chunk)), done()) }));

beforeAll(async () => {
  store = await openStore();
  credentialsDatabase = await createMigratedReadDb("sqlite");
  credentialsDb = await openReadDb(credentialsDatabase.url);
  tokens = testTokenService(3600);
  server = await startCommandServer({
    eventStore: store.client,
    port: 0,
    snapshotEvery: 100,
    maxConflictRetries: 5,
    logger,
    tokens,
    contexts: ["member"],
    credentialsDb,
    settings: { member: { adminLoginIds: ["root_admin"], passwordCost: TEST_COST } },
  });
  members = createClient(MemberCommandService, createGrpcTransport({ baseUrl: server.url }));
});

afterAll(async () => {
  await server?.close();
  await store?.close();
  await credentialsDb?.$disconnect();
  await credentialsDatabase?.drop();
});

let counter = 0;
function unique(prefix: string): string {
  return `${prefix}${process.pid % 1000}_${++counter}_${Math.floor(Math.random() * 1e4)}`.slice(0, 20);
}

function newMember(overrides: Partial<RegisterMemberRequest> = {}) {
  const loginId = overrides.loginId ?? unique("m");
  const password = overrides.password ?? `pw-${crypto.randomUUID()}`;
  passwordsUsed.add(password);
  return { loginId, name: "Hana Kim", email: `${loginId}@example.com`, password, address: "1 Main St, Seoul", ...overrides };
}

async function register(overrides: Partial<RegisterMemberRequest> = {}) {
  const request = newMember(overrides);
  const response = await members.registerMember(request);
  return { ...request, memberId: response.memberId, response };
}

/** A client acting as whoever the token names. */
function as(token: string) {
  return createClient(MemberCommandService, createGrpcTransport({ baseUrl: server.url, interceptors: [bearer(token)] }));
}

async function login(loginId: string, password: string) {
  return members.login({ loginId, password });
}

async function failureOf(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConnectError)) throw new Error(`expected a ConnectError, got ${String(error)}`);
  return error;
}

async function allEvents() {
  const events = [];
  for await (const resolved of store.client.readAll({ fromPosition: START, direction: FORWARDS })) {
    if (resolved.event) events.push(resolved.event);
  }
  return events;
}

describe("RegisterMember", () => {
  it("registers a member: a MemberRegistered event without any password, and a login that works", async () => {
    const member = await register();
    expect(member.memberId).toMatch(UUID);
    expect(member.response.result?.streamRevision).toBe(0n);
    const events = [];
    for await (const resolved of store.client.readStream(`member-${member.memberId}`, { fromRevision: START, direction: FORWARDS })) {
      events.push(resolved.event!);
    }
    expect(events.map((e) => e.type)).toEqual(["eventmall.member.v1.MemberRegistered"]);
    expect(events[0]!.data).toEqual(
      expect.objectContaining({ memberId: member.memberId, loginId: member.loginId, name: "Hana Kim", email: member.email, address: "1 Main St, Seoul" }),
    );
    expect(JSON.stringify(events[0]!.data)).not.toMatch(/password|scrypt/i);
    const session = await login(member.loginId, member.password);
    expect(session.memberId).toBe(member.memberId);
    expect(session.roles).toEqual(["member"]);
  });

  it("rejects bad fields with INVALID_ARGUMENT, every field reported", async () => {
    const error = await failureOf(
      members.registerMember({ loginId: "Ab!", name: "", email: "not-an-email", password: "short", address: " " }),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    const fields = error.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field);
    expect(fields?.sort()).toEqual(["address", "email", "login_id", "name", "password"]);
    for (const field of fields ?? []) expect(error.message).toContain(field);
    for (const email of ["a@b", "a@@b.com", ".a@b.com", "a..b@c.com", "a b@c.com", "a@-b.com", "a@b.c0m", `${"x".repeat(65)}@b.com`]) {
      expect((await failureOf(members.registerMember(newMember({ email })))).code, email).toBe(Code.InvalidArgument);
    }
    for (const loginId of ["abc", "a".repeat(21), "UPPER", "dash-ed", "ünï"]) {
      expect((await failureOf(members.registerMember(newMember({ loginId })))).code, loginId).toBe(Code.InvalidArgument);
    }
    expect((await failureOf(members.registerMember(newMember({ password: "p".repeat(129) })))).code).toBe(Code.InvalidArgument);
    expect((await failureOf(members.registerMember(newMember({ name: "n".repeat(51) })))).code).toBe(Code.InvalidArgument);
  });

  it("answers ALREADY_EXISTS for a taken login id or email (case-insensitively)", async () => {
    const first = await register();
    const sameLogin = await failureOf(members.registerMember(newMember({ loginId: first.loginId, email: `${unique("o")}@example.com` })));
    expect(sameLogin.code).toBe(Code.AlreadyExists);
    expect(sameLogin.findDetails(ErrorInfoSchema)[0]?.reason).toBe("LOGIN_ID_TAKEN");
    const sameEmail = await failureOf(members.registerMember(newMember({ email: first.email.toUpperCase() })));
    expect(sameEmail.code).toBe(Code.AlreadyExists);
    expect(sameEmail.findDetails(ErrorInfoSchema)[0]?.reason).toBe("EMAIL_TAKEN");
  });

  it("gives exactly one success to 10 concurrent registrations of one email, and the losers' login ids stay free", async () => {
    const email = `${unique("race")}@example.com`;
    const attempts = Array.from({ length: 10 }, () => newMember({ email }));
    const outcomes = await Promise.allSettled(attempts.map((request) => members.registerMember(request)));
    const won = outcomes.filter((o) => o.status === "fulfilled");
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost.map((o) => ConnectError.from(o.reason).code)).toEqual(Array(9).fill(Code.AlreadyExists));
    // A loser's login id was released: it can register with another email.
    const loser = attempts[outcomes.findIndex((o) => o.status === "rejected")]!;
    await register({ loginId: loser.loginId, email: `${unique("other")}@example.com` });
  });
});

describe("concurrent registrations of one login id", () => {
  it("give exactly one success; the losers' emails stay free", async () => {
    const loginId = unique("same");
    const attempts = Array.from({ length: 6 }, () => newMember({ loginId, email: `${unique("e")}@example.com` }));
    const outcomes = await Promise.allSettled(attempts.map((request) => members.registerMember(request)));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    const losers = attempts.filter((_, i) => outcomes[i]!.status === "rejected");
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.status === "rejected") expect(ConnectError.from(outcome.reason).code, `attempt ${i}`).toBe(Code.AlreadyExists);
    }
    await register({ email: losers[0]!.email });
  });
});

describe("a registration failing after its reservations", () => {
  /** A member repository whose first command is lost to a store failure before it is written. */
  class LosesFirstCommand extends AggregateRepository<MemberState, MemberCommand, MemberEvent> {
    private lost = false;
    override handle(id: string, command: MemberCommand, options: HandleOptions) {
      if (this.lost) return super.handle(id, command, options);
      this.lost = true;
      return Promise.reject(new Error("simulated store failure: the member was not written"));
    }
  }

  /** A member command server whose registrations use `memberIds` in turn. */
  async function serverWith(memberIds: string[], repository = new AggregateRepository(store.client, memberAggregate, { snapshotEvery: 0, maxConflictRetries: 5 })) {
    const running = await startGrpcServer({
      name: "member-test",
      port: 0,
      logger,
      services: [
        bind(
          MemberCommandService,
          memberCommandService({ client: store.client, repository, credentialsDb, tokens, logger, passwordCost: TEST_COST, newMemberId: () => memberIds.shift()! }),
        ),
      ],
    });
    return { running, client: createClient(MemberCommandService, createGrpcTransport({ baseUrl: running.url })) };
  }

  it("when storing the password fails: gives the login id and email back, so the client's retry succeeds at once", async () => {
    const memberIds = [crypto.randomUUID(), crypto.randomUUID()];
    // The credentials database refuses the first id's row.
    const trigger = `refuse_${memberIds[0]!.replaceAll("-", "")}`;
    await credentialsDb.$executeRawUnsafe(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON member_credential WHEN NEW.member_id = '${memberIds[0]}' BEGIN SELECT RAISE(ABORT, 'refused by test'); END`,
    );
    const { running, client } = await serverWith(memberIds);
    try {
      const request = newMember();
      expect((await failureOf(client.registerMember(request))).code).toBe(Code.Internal);
      const retried = await client.registerMember(request);
      expect((await login(request.loginId, request.password)).memberId).toBe(retried.memberId);
    } finally {
      await running.close();
      await credentialsDb.$executeRawUnsafe(`DROP TRIGGER ${trigger}`);
    }
  });

  it("when storing the member fails: erases the password hash it stored and gives the values back", async () => {
    const memberIds = [crypto.randomUUID(), crypto.randomUUID()];
    const { running, client } = await serverWith(memberIds.slice(), new LosesFirstCommand(store.client, memberAggregate, { snapshotEvery: 0, maxConflictRetries: 5 }));
    try {
      const request = newMember();
      expect((await failureOf(client.registerMember(request))).code).toBe(Code.Internal);
      expect(await credentialsDb.memberCredential.findUnique({ where: { memberId: memberIds[0]! } })).toBeNull();
      const retried = await client.registerMember(request);
      expect(retried.memberId).toBe(memberIds[1]);
      expect((await login(request.loginId, request.password)).memberId).toBe(retried.memberId);
    } finally {
      await running.close();
    }
  });
});

describe("reservations left behind by a crash", () => {
  async function strandReservation(stream: string, reservedAt: Date) {
    const event = create(IdentifierReservedSchema, { memberId: crypto.randomUUID(), reservedAt: timestampFromDate(reservedAt) });
    await store.client.appendToStream(stream, privateCodec.encode(IdentifierReservedSchema, event, { correlationId: "c", causationId: "c" }));
  }

  it("keeps a fresh reservation of a member that does not exist yet (a registration in flight)", async () => {
    const request = newMember();
    await strandReservation(emailStream(request.email), new Date());
    expect((await failureOf(members.registerMember(request))).code).toBe(Code.AlreadyExists);
  });

  it("takes over a reservation older than the grace period whose member never registered", async () => {
    const request = newMember();
    await strandReservation(loginIdStream(request.loginId), new Date(Date.now() - 10 * 60_000));
    await strandReservation(emailStream(request.email), new Date(Date.now() - 10 * 60_000));
    const { memberId } = await members.registerMember(request);
    expect((await login(request.loginId, request.password)).memberId).toBe(memberId);
  });

  it("never takes over an old reservation of a member who still holds the value", async () => {
    const member = await register();
    // Long after registration, the reservation is old but its member still holds both values.
    const later = await startCommandServer({
      eventStore: store.client,
      port: 0,
      snapshotEvery: 100,
      maxConflictRetries: 5,
      logger: pino({ level: "silent" }),
      tokens,
      contexts: ["member"],
      credentialsDb,
      settings: { member: { passwordCost: TEST_COST, clock: () => new Date(Date.now() + 3600_000) } },
    });
    try {
      const client = createClient(MemberCommandService, createGrpcTransport({ baseUrl: later.url }));
      expect((await failureOf(client.registerMember(newMember({ loginId: member.loginId })))).code).toBe(Code.AlreadyExists);
      expect((await failureOf(client.registerMember(newMember({ email: member.email })))).code).toBe(Code.AlreadyExists);
    } finally {
      await later.close();
    }
  });
});

describe("ChangeProfile", () => {
  it("changes the profile; a new email releases the old one, which another member can then take", async () => {
    const first = await register();
    const session = await login(first.loginId, first.password);
    const newEmail = `${unique("new")}@example.com`;
    const changed = await as(session.accessToken).changeProfile({ email: newEmail, address: "2 Side St" });
    expect(changed.result?.streamRevision).toBe(1n);
    const second = await register({ email: first.email });
    expect(second.memberId).toMatch(UUID);
    const taken = await failureOf(members.registerMember(newMember({ email: newEmail })));
    expect(taken.code).toBe(Code.AlreadyExists);
  });

  it("answers ABORTED on a stale expected_revision and gives back the email it reserved", async () => {
    const member = await register();
    const client = as((await login(member.loginId, member.password)).accessToken);
    const wanted = `${unique("want")}@example.com`;
    const conflict = await failureOf(client.changeProfile({ email: wanted, expectedRevision: 7n }));
    expect(conflict.code).toBe(Code.Aborted);
    expect((await register({ email: wanted })).memberId).toMatch(UUID);
    expect((await client.changeProfile({ name: "Still Me", expectedRevision: 0n })).result?.streamRevision).toBe(1n);
  });

  it("refuses an email another member holds, and needs a token", async () => {
    const first = await register();
    const second = await register();
    const session = await login(second.loginId, second.password);
    expect((await failureOf(as(session.accessToken).changeProfile({ email: first.email }))).code).toBe(Code.AlreadyExists);
    expect((await failureOf(members.changeProfile({ name: "Nobody" }))).code).toBe(Code.Unauthenticated);
    expect((await failureOf(as(session.accessToken).changeProfile({ name: "" }))).code).toBe(Code.InvalidArgument);
  });
});

describe("Login and tokens", () => {
  it("issues a token that verifies to the member and expires", async () => {
    const member = await register();
    const session = await login(member.loginId, member.password);
    expect(await tokens.verify(session.accessToken)).toEqual({ subject: member.memberId, roles: ["member"] });
    const expiresIn = timestampDate(session.expiresAt!).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(3500_000);
    expect(expiresIn).toBeLessThanOrEqual(3600_000);

    // A short-lived token from a server configured with a 1 s TTL stops working after it.
    const shortTokens = testTokenService(1);
    const shortServer = await startCommandServer({
      eventStore: store.client,
      port: 0,
      snapshotEvery: 100,
      maxConflictRetries: 5,
      logger: pino({ level: "silent" }),
      tokens: shortTokens,
      contexts: ["member"],
      credentialsDb,
      settings: { member: { passwordCost: TEST_COST } },
    });
    try {
      const shortMembers = createClient(MemberCommandService, createGrpcTransport({ baseUrl: shortServer.url }));
      const short = await shortMembers.login({ loginId: member.loginId, password: member.password });
      await expect(shortTokens.verify(short.accessToken)).resolves.toMatchObject({ subject: member.memberId });
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const expired = await failureOf(shortTokens.verify(short.accessToken));
      expect(expired.code).toBe(Code.Unauthenticated);
      const shortClient = createClient(MemberCommandService, createGrpcTransport({ baseUrl: shortServer.url, interceptors: [bearer(short.accessToken)] }));
      expect((await failureOf(shortClient.changeProfile({ name: "Late" }))).code).toBe(Code.Unauthenticated);
    } finally {
      await shortServer.close();
    }
  });

  it("answers UNAUTHENTICATED with one message for an unknown login id and a wrong password", async () => {
    const member = await register();
    const wrongPassword = await failureOf(login(member.loginId, "wrong-password"));
    const unknownId = await failureOf(login(unique("ghost"), "wrong-password"));
    const malformed = await failureOf(login("NO", "x".repeat(500)));
    for (const error of [wrongPassword, unknownId, malformed]) {
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.rawMessage).toBe("invalid login id or password");
    }
  });

  it("answers INVALID_ARGUMENT naming the missing fields for `{}` and for unknown field names, in the message too", async () => {
    const empty = await failureOf(members.login({}));
    expect(empty.code).toBe(Code.InvalidArgument);
    expect(empty.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(["login_id", "password"]);
    expect(empty.rawMessage).toBe("invalid Login request: login_id: is required; password: is required");
    expect((await failureOf(login("", "some password"))).rawMessage).toBe("invalid Login request: login_id: is required");

    // What a curl user sends when guessing the names: Connect JSON with fields the contract does not have.
    for (const body of ["{}", '{"username":"alice_01","pass":"correct horse"}']) {
      const response = await fetch(`${server.url}/eventmall.member.v1.MemberCommandService/Login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const answer = (await response.json()) as { code: string; message: string };
      expect(answer.code).toBe("invalid_argument");
      expect(answer.message).toContain("login_id");
    }
  });

  it("gives the admin role to members listed in ADMIN_LOGIN_IDS", async () => {
    const admin = await register({ loginId: "root_admin" });
    const session = await login("root_admin", admin.password);
    expect(session.roles).toEqual(["member", ADMIN_ROLE]);
    expect((await tokens.verify(session.accessToken)).roles).toContain(ADMIN_ROLE);
  });
});

describe("ChangePassword", () => {
  it("answers PERMISSION_DENIED for a wrong old password; with the right one the new password logs in", async () => {
    const member = await register();
    const client = as((await login(member.loginId, member.password)).accessToken);
    const wrong = await failureOf(client.changePassword({ oldPassword: "not-my-password", newPassword: "brand-new-pass" }));
    expect(wrong.code).toBe(Code.PermissionDenied);
    expect(wrong.findDetails(ErrorInfoSchema)[0]?.reason).toBe("WRONG_PASSWORD");
    await login(member.loginId, member.password); // unchanged

    const newPassword = `new-${crypto.randomUUID()}`;
    passwordsUsed.add(newPassword);
    const changed = await client.changePassword({ oldPassword: member.password, newPassword });
    expect(changed.result?.streamRevision).toBe(1n);
    expect((await login(member.loginId, newPassword)).memberId).toBe(member.memberId);
    expect((await failureOf(login(member.loginId, member.password))).code).toBe(Code.Unauthenticated);
    expect((await failureOf(client.changePassword({ oldPassword: newPassword, newPassword: "short" }))).code).toBe(Code.InvalidArgument);
  });

  it("of concurrent changes from the same old password, exactly one wins; only its new password logs in", async () => {
    const member = await register();
    const client = as((await login(member.loginId, member.password)).accessToken);
    const newPasswords = Array.from({ length: 5 }, (_, i) => `race-${i}-${crypto.randomUUID()}`);
    for (const password of newPasswords) passwordsUsed.add(password);
    const outcomes = await Promise.allSettled(newPasswords.map((newPassword) => client.changePassword({ oldPassword: member.password, newPassword })));
    const winners = newPasswords.filter((_, i) => outcomes[i]!.status === "fulfilled");
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === "fulfilled") continue;
      // Lost the race on the credential row (ABORTED), or ran after the winner and no longer knew the password.
      const error = ConnectError.from(outcome.reason);
      expect([Code.Aborted, Code.PermissionDenied]).toContain(error.code);
      expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe(error.code === Code.Aborted ? "PASSWORD_CHANGED_CONCURRENTLY" : "WRONG_PASSWORD");
    }
    expect((await login(member.loginId, winners[0]!)).memberId).toBe(member.memberId);
    for (const loser of newPasswords.filter((p) => p !== winners[0])) {
      expect((await failureOf(login(member.loginId, loser))).code).toBe(Code.Unauthenticated);
    }
    expect((await failureOf(login(member.loginId, member.password))).code).toBe(Code.Unauthenticated);
    expect((await credentialsDb.memberCredential.findUnique({ where: { memberId: member.memberId } }))?.version).toBe(1);
    const types = [];
    for await (const resolved of store.client.readStream(`member-${member.memberId}`)) types.push(resolved.event!.type);
    expect(types).toEqual(["eventmall.member.v1.MemberRegistered", "eventmall.member.v1.MemberPasswordChanged"]);
  });
});

describe("WithdrawMember", () => {
  it("withdraws: login fails, commands fail, login id and email are free again", async () => {
    const member = await register();
    const client = as((await login(member.loginId, member.password)).accessToken);
    const withdrawn = await client.withdrawMember({});
    expect(withdrawn.result?.streamRevision).toBe(1n);
    const refused = await failureOf(login(member.loginId, member.password));
    expect(refused.code).toBe(Code.Unauthenticated);
    expect(refused.rawMessage).toBe("invalid login id or password");
    const again = await failureOf(client.withdrawMember({}));
    expect(again.code).toBe(Code.FailedPrecondition);
    expect((await failureOf(client.changeProfile({ name: "Back" }))).code).toBe(Code.FailedPrecondition);

    const successor = await register({ loginId: member.loginId, email: member.email });
    expect(successor.memberId).not.toBe(member.memberId);
    expect((await login(member.loginId, successor.password)).memberId).toBe(successor.memberId);
  });

  it("deletes the member's credential row; withdrawing again erases a row a failed erasure left", async () => {
    const member = await register();
    const client = as((await login(member.loginId, member.password)).accessToken);
    const before = await credentialsDb.memberCredential.findUnique({ where: { memberId: member.memberId } });
    expect(before?.passwordHash).toMatch(/^scrypt\$/);
    await client.withdrawMember({});
    expect(await credentialsDb.memberCredential.findUnique({ where: { memberId: member.memberId } })).toBeNull();

    // As if the first withdrawal's erasure had failed: the row is back.
    await credentialsDb.memberCredential.create({ data: { memberId: member.memberId, passwordHash: before!.passwordHash, version: 0, updatedAt: new Date() } });
    const operator = as((await tokens.issue({ subject: "ops", roles: [ADMIN_ROLE] })).token);
    expect((await failureOf(operator.withdrawMember({ memberId: member.memberId }))).code).toBe(Code.FailedPrecondition);
    expect(await credentialsDb.memberCredential.findUnique({ where: { memberId: member.memberId } })).toBeNull();
  });

  it("lets an admin withdraw another member; a member may not", async () => {
    const victim = await register();
    const other = await register();
    const otherClient = as((await login(other.loginId, other.password)).accessToken);
    expect((await failureOf(otherClient.withdrawMember({ memberId: victim.memberId }))).code).toBe(Code.PermissionDenied);
    const operator = as((await tokens.issue({ subject: "ops", roles: [ADMIN_ROLE] })).token);
    await operator.withdrawMember({ memberId: victim.memberId });
    expect((await failureOf(login(victim.loginId, victim.password))).code).toBe(Code.Unauthenticated);
    expect((await failureOf(operator.withdrawMember({ memberId: crypto.randomUUID() }))).code).toBe(Code.NotFound);
    expect((await failureOf(operator.withdrawMember({ memberId: "nope" }))).code).toBe(Code.InvalidArgument);
  });
});

describe("secrets in the store and the logs", () => {
  it("no event ($all) holds a password or a hash, no log line a password or a hash; hashes sit only in member_credential", async () => {
    const events = await allEvents();
    const memberEvents = events.filter((e) => e.streamId.startsWith("member"));
    expect(memberEvents.length).toBeGreaterThan(20);
    // The hashes of the members still registered, and their salts and keys on their own.
    const hashes = (await credentialsDb.memberCredential.findMany()).map((row) => row.passwordHash);
    expect(hashes.length).toBeGreaterThan(5);
    const hashParts = hashes.flatMap((hash) => hash.split("$").slice(4));
    expect(hashParts.every((part) => part.length >= 16)).toBe(true);
    for (const event of events) {
      const where = `${event.streamId} ${event.type}`;
      expect(event.streamId, where).not.toMatch(/credential/i);
      const text = JSON.stringify({ data: event.data, metadata: event.metadata });
      for (const password of passwordsUsed) expect(text, where).not.toContain(password);
      for (const part of hashParts) expect(text, where).not.toContain(part);
      expect(text, where).not.toMatch(/scrypt\$|passwordHash|password_hash/i);
    }
    const logs = logLines.join("");
    for (const password of passwordsUsed) expect(logs).not.toContain(password);
    for (const part of hashParts) expect(logs).not.toContain(part);
    expect(logs).not.toMatch(/scrypt\$|passwordHash/);
  });
});
