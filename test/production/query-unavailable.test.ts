// The query service while its read database is down: UNAVAILABLE (retryable, no internals), not
// INTERNAL; and it answers again on its own once the database is back. A PostgreSQL server of the
// test's own is stopped and started, so the shared server is not disturbed.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProductQueryService } from "../../gen/eventmall/product/v1/queries_pb";
import { startQueryServer } from "../../services/query/server";
import { createTokenService } from "../../src/kernel/auth/auth";
import { isInfrastructureError } from "../../src/kernel/process/infrastructure-errors";
import { migrateReadDb, openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { operatorCredentials } from "../support/operator";
import { startPrivatePostgres, type PrivatePostgres } from "../support/private-postgres";

let postgres: PrivatePostgres;
let db: ReadDb;
let close: () => Promise<void>;
let url: string;

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  await migrateReadDb(postgres.url);
  db = await openReadDb(postgres.url);
  const operator = await operatorCredentials();
  const tokens = createTokenService({ dataDir: "/nonexistent", auth: { tokenSecret: operator.secret, tokenTtlSeconds: 3600 } });
  const server = await startQueryServer({ db, tokens, port: 0, logger: pino({ level: "silent" }), contexts: ["product"] });
  close = () => server.close();
  url = server.url;
}, 60_000);

afterAll(async () => {
  await close?.();
  await db?.$disconnect();
  await postgres?.destroy();
});

describe("query service with its read database down", () => {
  it("answers UNAVAILABLE while it is down and recovers by itself when it is back", async () => {
    const products = createClient(ProductQueryService, createGrpcTransport({ baseUrl: url }));
    expect((await products.listProducts({ pageSize: 5 })).products).toEqual([]);

    await postgres.stop();
    const failure = await products.listProducts({ pageSize: 5 }).then(
      () => undefined,
      (error: unknown) => ConnectError.from(error),
    );
    expect(failure?.code).toBe(Code.Unavailable);
    expect(failure?.rawMessage).not.toMatch(/127\.0\.0\.1|prisma|SELECT/i);

    await postgres.start();
    let answered = false;
    for (let i = 0; i < 100 && !answered; i++) {
      answered = await products.listProducts({ pageSize: 5 }).then(
        () => true,
        () => false,
      );
      if (!answered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answered).toBe(true);
  }, 60_000);

  it("classifies what a stopped PostgreSQL and a locked SQLite throw as infrastructure, and a bad query as not", async () => {
    expect(isInfrastructureError(Object.assign(new Error("x"), { code: "P1001" }))).toBe(true);
    expect(isInfrastructureError({ meta: { driverAdapterError: { cause: { kind: "sqlite", originalCode: "SQLITE_BUSY" } } } })).toBe(true);
    expect(isInfrastructureError(new Error("Client has encountered a connection error and is not queryable"))).toBe(true);
    expect(isInfrastructureError({ cause: { kind: "postgres", code: "57P01" } })).toBe(true);
    const badQuery = await db.$queryRawUnsafe("SELECT no_such_column FROM product").catch((error: unknown) => error);
    expect(isInfrastructureError(badQuery)).toBe(false);
    expect(isInfrastructureError(new Error("event names product x but sits in stream y"))).toBe(false);
  });
});
