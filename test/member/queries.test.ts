// MemberQueryService over the whole read path: member commands → embedded store → projector
// (persistent subscription) → a migrated read database → query service over real gRPC.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { MemberCommandService } from "../../gen/eventmall/member/v1/commands_pb";
import { MemberQueryService, MemberStatus, type Member } from "../../gen/eventmall/member/v1/queries_pb";
import { ADMIN_ROLE, type TokenService } from "../../src/kernel/auth/auth";
import { startProjector, type RunningProjector } from "../../src/kernel/read/projector";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { memberProjection } from "../../src/member/projection";
import { startCommandServer, type RunningCommandServer } from "../../services/command/server";
import { startQueryServer } from "../../services/query/server";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { bearer, testTokenService } from "../kernel/auth-fixtures";
import { createMigratedReadDb, READ_DB_PROVIDERS, type TestReadDb } from "../support/read-db";

const TEST_COST = { log2N: 12, r: 8, p: 1 };
const DAY = 24 * 3600_000;
const T0 = Date.UTC(2030, 0, 10);

describe.each(READ_DB_PROVIDERS)("on %s", (provider) => {
  let store: StoreUnderTest;
  let readDb: TestReadDb;
  let db: ReadDb;
  let projector: RunningProjector;
  let commandServer: RunningCommandServer;
  let queryServer: Awaited<ReturnType<typeof startQueryServer>>;
  let tokens: TokenService;
  let now = T0;
  let adminToken: string;
  const passwords: string[] = [];
  const registered: { memberId: string; loginId: string; token: string }[] = [];

  const commandsAs = (token?: string) =>
    createClient(MemberCommandService, createGrpcTransport({ baseUrl: commandServer.url, interceptors: token ? [bearer(token)] : [] }));
  const queriesAs = (token?: string): Client<typeof MemberQueryService> =>
    createClient(MemberQueryService, createGrpcTransport({ baseUrl: queryServer.url, interceptors: token ? [bearer(token)] : [] }));

  async function failureOf(call: Promise<unknown>): Promise<ConnectError> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof ConnectError)) throw new Error(`expected a ConnectError, got ${String(error)}`);
    return error;
  }

  async function projected(memberId: string, until: (m: Member) => boolean = () => true): Promise<Member> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const member = await queriesAs(adminToken)
        .getMember({ memberId })
        .then((r) => r.member)
        .catch(() => undefined);
      if (member && until(member)) return member;
      if (Date.now() > deadline) throw new Error(`member ${memberId} never reached the expected state`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    store = await openStore();
    readDb = await createMigratedReadDb(provider);
    db = await openReadDb(readDb.url);
    tokens = testTokenService();
    adminToken = (await tokens.issue({ subject: "ops", roles: [ADMIN_ROLE] })).token;
    const logger = pino({ level: "silent" });
    projector = startProjector({ client: store.client, db, projections: [memberProjection], logger, maxRetries: 2, retryBaseMs: 5 });
    commandServer = await startCommandServer({
      eventStore: store.client,
      port: 0,
      snapshotEvery: 100,
      maxConflictRetries: 5,
      logger,
      tokens,
      contexts: ["member"],
      // Password hashes in the read database's member_credential table, as CREDENTIALS_DATABASE_URL's default does.
      credentialsDb: db,
      settings: { member: { passwordCost: TEST_COST, clock: () => new Date(now) } },
    });
    queryServer = await startQueryServer({ db, tokens, port: 0, contexts: ["member"] });

    for (let i = 0; i < 7; i++) {
      const loginId = `q${provider.slice(0, 2)}_${i}_${Math.floor(Math.random() * 1e6)}`;
      const password = `secret-${crypto.randomUUID()}`;
      passwords.push(password);
      const { memberId } = await commandsAs().registerMember({ loginId, name: `Member ${i}`, email: `${loginId}@example.com`, password, address: `${i} Main St` });
      const { accessToken } = await commandsAs().login({ loginId, password });
      registered.push({ memberId, loginId, token: accessToken });
    }
    // Members 1..5 withdraw on days 1..5 (members 2 and 3 on the same instant); 0 and 6 stay.
    const withdrawalDays = [undefined, 1, 3, 3, 4, 5, undefined];
    for (const [i, day] of withdrawalDays.entries()) {
      if (day === undefined) continue;
      now = T0 + day * DAY;
      await commandsAs(registered[i]!.token).withdrawMember({});
    }
    now = T0 + 6 * DAY;
    await commandsAs(registered[0]!.token).changePassword({ oldPassword: passwords[0]!, newPassword: `new-${passwords[0]}` });
    passwords.push(`new-${passwords[0]}`);
    await commandsAs(registered[6]!.token).changeProfile({ name: "Renamed", address: "6 Side St" });
    await projected(registered[6]!.memberId, (m) => m.name === "Renamed");
    await projected(registered[0]!.memberId, (m) => m.passwordChangedAt !== undefined);
    await Promise.all(registered.slice(1, 6).map((r) => projected(r.memberId, (m) => m.status === MemberStatus.WITHDRAWN)));
  }, 120_000);

  afterAll(async () => {
    await projector?.stop();
    await commandServer?.close();
    await queryServer?.close();
    await db?.$disconnect();
    await store?.close();
    await readDb?.drop();
  });

  describe("GetMember", () => {
    it("returns the caller's own member, without any password or hash", async () => {
      const me = registered[6]!;
      const { member } = await queriesAs(me.token).getMember({});
      expect(member).toMatchObject({ memberId: me.memberId, loginId: me.loginId, name: "Renamed", address: "6 Side St", email: `${me.loginId}@example.com`, status: MemberStatus.ACTIVE });
      expect(member?.revision).toBe(1n);
      expect((await queriesAs(me.token).getMember({ memberId: me.memberId })).member?.memberId).toBe(me.memberId);
    });

    it("lets an admin read anyone; a member reading another gets PERMISSION_DENIED; no token UNAUTHENTICATED", async () => {
      const [first, second] = registered;
      expect((await queriesAs(adminToken).getMember({ memberId: first!.memberId })).member?.loginId).toBe(first!.loginId);
      expect((await failureOf(queriesAs(second!.token).getMember({ memberId: first!.memberId }))).code).toBe(Code.PermissionDenied);
      expect((await failureOf(queriesAs().getMember({ memberId: first!.memberId }))).code).toBe(Code.Unauthenticated);
      expect((await failureOf(queriesAs("garbage").getMember({}))).code).toBe(Code.Unauthenticated);
      expect((await failureOf(queriesAs(adminToken).getMember({ memberId: crypto.randomUUID() }))).code).toBe(Code.NotFound);
      expect((await failureOf(queriesAs(adminToken).getMember({ memberId: "x'; drop" }))).code).toBe(Code.InvalidArgument);
    });

    it("reads its own writes with a position token", async () => {
      const loginId = `ryw_${provider.slice(0, 2)}_${Math.floor(Math.random() * 1e6)}`;
      const registration = await commandsAs().registerMember({ loginId, name: "Fresh", email: `${loginId}@example.com`, password: "fresh-password", address: "Here" });
      const { accessToken } = await commandsAs().login({ loginId, password: "fresh-password" });
      const change = await commandsAs(accessToken).changeProfile({ name: "Fresher" });
      const { member } = await queriesAs(accessToken).getMember({ positionToken: change.result!.positionToken });
      expect(member).toMatchObject({ memberId: registration.memberId, name: "Fresher", revision: 1n });
      expect((await failureOf(queriesAs(accessToken).getMember({ positionToken: "not-a-token" }))).code).toBe(Code.InvalidArgument);
    });

    it("shows withdrawal and password change times", async () => {
      const { member: withdrawn } = await queriesAs(adminToken).getMember({ memberId: registered[1]!.memberId });
      expect(withdrawn?.status).toBe(MemberStatus.WITHDRAWN);
      expect(timestampDate(withdrawn!.withdrawnAt!).getTime()).toBe(T0 + DAY);
      const { member: changed } = await queriesAs(registered[0]!.token).getMember({});
      expect(timestampDate(changed!.passwordChangedAt!).getTime()).toBe(T0 + 6 * DAY);
    });
  });

  describe("ListMembersWithdrawnSince", () => {
    const ids = (members: Member[]) => members.map((m) => m.memberId);

    it("lists members withdrawn at or after `since`, oldest first, paged", async () => {
      const since = timestampFromDate(new Date(T0 + 3 * DAY));
      const expected = [registered[2]!.memberId, registered[3]!.memberId].sort().concat([registered[4]!.memberId, registered[5]!.memberId]);
      const first = await queriesAs(adminToken).listMembersWithdrawnSince({ since, pageSize: 3 });
      expect(first.members).toHaveLength(3);
      expect(first.nextPageToken).not.toBe("");
      const second = await queriesAs(adminToken).listMembersWithdrawnSince({ since, pageSize: 3, pageToken: first.nextPageToken });
      expect(second.nextPageToken).toBe("");
      expect([...ids(first.members), ...ids(second.members)]).toEqual(expected);
      expect(first.members.every((m) => m.status === MemberStatus.WITHDRAWN)).toBe(true);

      const all = await queriesAs(adminToken).listMembersWithdrawnSince({ since: timestampFromDate(new Date(T0)) });
      expect(ids(all.members)).toEqual(registered.slice(1, 6).map((r) => r.memberId).sort((a, b) => {
        const day = (id: string) => [1, 3, 3, 4, 5][registered.slice(1, 6).findIndex((r) => r.memberId === id)]!;
        return day(a) - day(b) || a.localeCompare(b);
      }));
      const none = await queriesAs(adminToken).listMembersWithdrawnSince({ since: timestampFromDate(new Date(T0 + 7 * DAY)) });
      expect(none.members).toEqual([]);
    });

    it("is admin only, and rejects bad arguments", async () => {
      const since = timestampFromDate(new Date(T0));
      expect((await failureOf(queriesAs(registered[0]!.token).listMembersWithdrawnSince({ since }))).code).toBe(Code.PermissionDenied);
      expect((await failureOf(queriesAs().listMembersWithdrawnSince({ since }))).code).toBe(Code.Unauthenticated);
      const admin = queriesAs(adminToken);
      expect((await failureOf(admin.listMembersWithdrawnSince({}))).code).toBe(Code.InvalidArgument);
      expect((await failureOf(admin.listMembersWithdrawnSince({ since, pageSize: 101 }))).code).toBe(Code.InvalidArgument);
      expect((await failureOf(admin.listMembersWithdrawnSince({ since, pageToken: "%%%" }))).code).toBe(Code.InvalidArgument);
      const { nextPageToken } = await admin.listMembersWithdrawnSince({ since, pageSize: 1 });
      const otherSince = timestampFromDate(new Date(T0 + DAY));
      expect((await failureOf(admin.listMembersWithdrawnSince({ since: otherSince, pageToken: nextPageToken }))).code).toBe(Code.InvalidArgument);
    });

    it("answers from the (withdrawn_at, id) index", async () => {
      const query = "SELECT id FROM member WHERE withdrawn_at >= $1 ORDER BY withdrawn_at, id LIMIT 21";
      const plan =
        provider === "sqlite"
          ? (await db.$queryRawUnsafe<{ detail: string }[]>(`EXPLAIN QUERY PLAN ${query.replace("$1", "?")}`, new Date(T0))).map((row) => row.detail)
          : // The table is tiny: forbid the sequential scan the planner would rightly prefer, to see the index is usable.
            await db.$transaction(async (tx) => {
              await tx.$executeRawUnsafe("SET LOCAL enable_seqscan = off");
              const rows = await tx.$queryRawUnsafe<Record<string, string>[]>(`EXPLAIN ${query}`, new Date(T0));
              return rows.map((row) => Object.values(row).join(" "));
            });
      expect(plan.join("\n")).toContain("member_withdrawn_at_id_idx");
    });
  });

  it("no query response carries a password or a hash", async () => {
    const responses = [
      ...(await Promise.all(registered.map((r) => queriesAs(adminToken).getMember({ memberId: r.memberId })))),
      await queriesAs(adminToken).listMembersWithdrawnSince({ since: timestampFromDate(new Date(0)) }),
    ];
    const text = JSON.stringify(responses, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
    for (const password of passwords) expect(text).not.toContain(password);
    expect(text).not.toMatch(/scrypt|hash/i);
    // Hashes sit in the write-side member_credential table; the withdrawn members' rows are erased.
    const credentialHolders = (await db.memberCredential.findMany({ select: { memberId: true } })).map((row) => row.memberId);
    expect(credentialHolders).toEqual(expect.arrayContaining([registered[0]!.memberId, registered[6]!.memberId]));
    for (const withdrawn of registered.slice(1, 6)) expect(credentialHolders).not.toContain(withdrawn.memberId);
  });
});
