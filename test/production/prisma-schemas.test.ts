// The PostgreSQL read-database schema is generated from the SQLite one, and each provider's
// committed migrations bring an empty database exactly to its schema (what `prisma migrate
// deploy` will produce in production is what the client was generated for).
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  POSTGRES_SCHEMA,
  SQLITE_SCHEMA,
  diffMigrationsToSchema,
  migrationNames,
  portablePostgresSql,
  postgresSchemaFrom,
} from "../../scripts/sync-prisma-schemas";
import { createTestDatabase, type TestReadDb } from "../support/read-db";

const POSTGRES_MIGRATIONS = path.join(path.dirname(POSTGRES_SCHEMA), "migrations");
const scratch: TestReadDb[] = [];
afterAll(async () => {
  for (const database of scratch) await database.drop();
});

describe("read-database schemas", () => {
  it("commits the PostgreSQL schema generated from the SQLite schema (run npm run db:sync-schemas)", () => {
    expect(readFileSync(POSTGRES_SCHEMA, "utf8")).toBe(postgresSchemaFrom(readFileSync(SQLITE_SCHEMA, "utf8")));
  });

  it("changes nothing but the provider and the generated client's folder", () => {
    const sqlite = readFileSync(SQLITE_SCHEMA, "utf8");
    const postgres = postgresSchemaFrom(sqlite);
    const normalise = (text: string) => text.replace(/^\/\/ GENERATED.*\n/, "").replace('"postgresql"', '"sqlite"').replace("read-db/postgresql", "read-db/sqlite");
    expect(normalise(postgres)).toBe(sqlite);
  });

  it("gives PostgreSQL text columns the C collation, the byte order SQLite sorts by", () => {
    expect(portablePostgresSql('CREATE TABLE "t" (\n    "a" TEXT NOT NULL,\n    "b" TEXT COLLATE "C",\n    "c" BIGINT\n);')).toBe(
      'CREATE TABLE "t" (\n    "a" TEXT COLLATE "C" NOT NULL,\n    "b" TEXT COLLATE "C",\n    "c" BIGINT\n);',
    );
  });

  it("has every PostgreSQL migration create its text columns in the C collation", () => {
    for (const name of migrationNames("postgresql")) {
      const sql = readFileSync(path.join(POSTGRES_MIGRATIONS, name, "migration.sql"), "utf8");
      expect(sql, `${name}: run its SQL through portablePostgresSql (npm run db:migration does)`).toBe(portablePostgresSql(sql));
    }
  });

  it.each(["sqlite", "postgresql"] as const)("%s migrations bring an empty database to the schema", async (provider) => {
    const shadow = await createTestDatabase(provider);
    scratch.push(shadow);
    expect(await diffMigrationsToSchema(provider, shadow.url)).toBe("");
  }, 120_000);
});
