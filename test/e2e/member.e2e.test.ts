// Members and authentication through real processes started like `npm start`, with the token
// secret left to the installation's file: register, log in, admin rights from ADMIN_LOGIN_IDS
// and from the operator CLI (npm run token), projected member queries, withdrawal.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemberCommandService } from "../../gen/eventmall/member/v1/commands_pb";
import { MemberQueryService, MemberStatus } from "../../gen/eventmall/member/v1/queries_pb";
import { OrderCommandService } from "../../gen/eventmall/order/v1/commands_pb";
import { OrderQueryService } from "../../gen/eventmall/order/v1/queries_pb";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { bearer } from "../kernel/auth-fixtures";
import { pollUntil, startSuite, type RunningSuite } from "./suite";

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, "../..");

describe("members and authentication end to end", () => {
  let suite: RunningSuite;
  const transport = (url: string, token?: string) => createGrpcTransport({ baseUrl: url, interceptors: token ? [bearer(token)] : [] });
  const members = (token?: string) => createClient(MemberCommandService, transport(suite.commandUrl, token));
  const memberQueries = (token?: string) => createClient(MemberQueryService, transport(suite.queryUrl, token));
  const products = (token?: string) => createClient(ProductCommandService, transport(suite.commandUrl, token));
  const orders = (token?: string) => createClient(OrderCommandService, transport(suite.commandUrl, token));
  const orderQueries = (token?: string) => createClient(OrderQueryService, transport(suite.queryUrl, token));
  /** The status code a call failed with; undefined when it succeeded. */
  const codeOf = (call: Promise<unknown>) => call.then(() => undefined, (error: unknown) => ConnectError.from(error).code);

  beforeAll(async () => {
    suite = await startSuite({ AUTH_TOKEN_SECRET: undefined, ADMIN_LOGIN_IDS: "boss_admin" });
  }, 180_000);
  afterAll(async () => {
    await suite?.stop();
  }, 60_000);

  it("keeps the installation's token secret in DATA_DIR/token-secret, readable by its owner only", () => {
    const stat = fs.statSync(path.join(suite.env.DATA_DIR!, "token-secret"));
    expect(stat.mode & 0o777).toBe(0o600);
  });

  it("registers, logs in, reads itself from the query side, withdraws, and is listed as withdrawn", async () => {
    const password = "e2e-password-1";
    const { memberId } = await members().registerMember({ loginId: "shopper_1", name: "Shopper", email: "shopper@example.com", password, address: "1 Market St" });
    const session = await members().login({ loginId: "shopper_1", password });
    expect(session.memberId).toBe(memberId);
    expect(session.roles).toEqual(["member"]);

    const me = await pollUntil(() => memberQueries(session.accessToken).getMember({}).then((r) => r.member), "member projected");
    expect(me).toMatchObject({ memberId, loginId: "shopper_1", email: "shopper@example.com", status: MemberStatus.ACTIVE });
    expect(await codeOf(memberQueries().getMember({ memberId }))).toBe(Code.Unauthenticated);

    await members(session.accessToken).withdrawMember({});
    expect(await codeOf(members().login({ loginId: "shopper_1", password }))).toBe(Code.Unauthenticated);
    const since = timestampFromDate(new Date(Date.now() - 3600_000));
    const listed = await pollUntil(
      () => memberQueries(suite.adminToken).listMembersWithdrawnSince({ since }).then((r) => (r.members.length > 0 ? r.members : undefined)),
      "withdrawal projected",
    );
    expect(listed.map((m) => m.memberId)).toEqual([memberId]);
    // The withdrawn member's token is revoked (see the next test); an active member is no admin.
    expect(await codeOf(memberQueries(session.accessToken).listMembersWithdrawnSince({ since }))).toBe(Code.Unauthenticated);
    await members().registerMember({ loginId: "shopper_2", name: "Other", email: "shopper2@example.com", password, address: "2 Market St" });
    const other = await members().login({ loginId: "shopper_2", password });
    expect(await codeOf(memberQueries(other.accessToken).listMembersWithdrawnSince({ since }))).toBe(Code.PermissionDenied);
  });

  it("refuses a withdrawn member's unexpired token (UNAUTHENTICATED) for commands and queries; admins are unaffected", async () => {
    const password = "e2e-password-2";
    const { memberId } = await members().registerMember({ loginId: "leaver_1", name: "Leaver", email: "leaver@example.com", password, address: "3 Market St" });
    const { accessToken } = await members().login({ loginId: "leaver_1", password });
    const { productId } = await products(suite.adminToken).createProduct({ name: "Leaver mug", price: 500n, inventory: 10n });
    const order = { items: [{ productId, quantity: 1n }], delivery: { address: "3 Market St", phone: "010-0000-0000" } };
    // The token works before: an order (once the catalog has the product) and "my orders".
    await pollUntil(() => orders(accessToken).placeOrder(order), "product in the order catalog");
    await pollUntil(() => orderQueries(accessToken).listMemberOrders({}).then((r) => (r.orders.length > 0 ? r : undefined)), "order projected");

    await members(accessToken).withdrawMember({});
    // The command process that stored the withdrawal refuses at once.
    const refused = await orders(accessToken).placeOrder(order).catch((error: unknown) => ConnectError.from(error));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.Unauthenticated);
    expect((refused as ConnectError).rawMessage).toContain("revoked");
    expect(await codeOf(members(accessToken).changeProfile({ name: "Back" }))).toBe(Code.Unauthenticated);
    // The query process learns it from the event log (milliseconds); then every member query refuses.
    await pollUntil(() => codeOf(orderQueries(accessToken).listMemberOrders({})).then((code) => (code === Code.Unauthenticated ? code : undefined)), "query side refuses", 10_000);
    expect(await codeOf(memberQueries(accessToken).getMember({}))).toBe(Code.Unauthenticated);

    // Admins are unaffected, including on the withdrawn member's data.
    const withdrawn = await pollUntil(
      () => memberQueries(suite.adminToken).getMember({ memberId }).then((r) => (r.member?.status === MemberStatus.WITHDRAWN ? r.member : undefined)),
      "withdrawal projected",
    );
    expect(withdrawn.memberId).toBe(memberId);
    expect((await products(suite.adminToken).createProduct({ name: "After", price: 1n, inventory: 1n })).productId).toHaveLength(36);
  }, 60_000);

  it("gives the admin role to ADMIN_LOGIN_IDS members; only admins manage products", async () => {
    const password = "boss-password-1";
    await members().registerMember({ loginId: "boss_admin", name: "Boss", email: "boss@example.com", password, address: "HQ" });
    const boss = await members().login({ loginId: "boss_admin", password });
    expect(boss.roles).toEqual(["member", "admin"]);
    const { productId } = await products(boss.accessToken).createProduct({ name: "Boss lamp", price: 100n, inventory: 1n });
    expect(productId).toHaveLength(36);

    await members().registerMember({ loginId: "plain_member", name: "Plain", email: "plain@example.com", password, address: "Home" });
    const plain = await members().login({ loginId: "plain_member", password });
    expect(await codeOf(products(plain.accessToken).createProduct({ name: "Mine", price: 1n, inventory: 1n }))).toBe(Code.PermissionDenied);
    expect(await codeOf(products().createProduct({ name: "Anon", price: 1n, inventory: 1n }))).toBe(Code.Unauthenticated);
  });

  it("mints an admin token with the operator CLI (npm run token) that the services accept", async () => {
    const tsx = path.join(repoRoot, "node_modules/.bin/tsx");
    const { stdout, stderr } = await run(tsx, ["scripts/token.ts", "--admin", "--subject", "e2e-cli"], { cwd: repoRoot, env: suite.env });
    expect(stderr).toContain('admin token for "e2e-cli"');
    const token = stdout.trim();
    const { productId } = await products(token).createProduct({ name: "CLI lamp", price: 100n, inventory: 1n });
    expect(productId).toHaveLength(36);
    const refused = await run(tsx, ["scripts/token.ts"], { cwd: repoRoot, env: suite.env }).then(
      () => 0,
      (error: { code?: number }) => error.code,
    );
    expect(refused).toBe(1);
  }, 60_000);
});
