// Who may read reports: GetInventoryMovements needs a token with the admin or the reports role.
// A real query server over a migrated SQLite read database, called through a gRPC client.
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReportQueryService } from "../../gen/eventmall/report/v1/queries_pb";
import { startQueryServer } from "../../services/query/server";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { REPORTS_ROLE } from "../../src/report/queries";
import { adminToken, bearer, testTokenService } from "../kernel/auth-fixtures";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";

const tokens = testTokenService();
const productId = randomUUID();
let readDb: TestReadDb;
let db: ReadDb;
let server: Awaited<ReturnType<typeof startQueryServer>>;

const reports = (token?: string): Client<typeof ReportQueryService> =>
  createClient(ReportQueryService, createGrpcTransport({ baseUrl: server.url, interceptors: token ? [bearer(token)] : [] }));

async function codeOf(call: Promise<unknown>): Promise<Code | "OK"> {
  try {
    await call;
    return "OK";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

beforeAll(async () => {
  readDb = await createMigratedReadDb("sqlite");
  db = await openReadDb(readDb.url);
  await db.inventoryMovementDaily.create({ data: { productId, day: "2026-01-02", increased: 5n, decreased: 2n, movements: 2 } });
  server = await startQueryServer({ db, tokens, port: 0, logger: pino({ level: "silent" }) });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await db?.$disconnect();
  await readDb?.drop();
});

describe("ReportQueryService/GetInventoryMovements", () => {
  it("refuses a call without a token as UNAUTHENTICATED", async () => {
    expect(await codeOf(reports().getInventoryMovements({ productId }))).toBe(Code.Unauthenticated);
  });

  it("refuses a member's token as PERMISSION_DENIED", async () => {
    const { token } = await tokens.issue({ subject: randomUUID(), roles: ["member"] });
    const error = await reports(token).getInventoryMovements({ productId }).catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.PermissionDenied);
    expect((error as ConnectError).rawMessage).toContain("reports");
  });

  it("answers a reports-role token and an admin token", async () => {
    const { token: reader } = await tokens.issue({ subject: "finance", roles: [REPORTS_ROLE] });
    for (const token of [reader, await adminToken(tokens)]) {
      const { days } = await reports(token).getInventoryMovements({ productId });
      expect(days.map((d) => ({ day: d.day, increased: d.increased, decreased: d.decreased }))).toEqual([{ day: "2026-01-02", increased: 5n, decreased: 2n }]);
    }
  });
});
