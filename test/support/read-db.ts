// A fresh, migrated read database per test file, on either provider: a temp SQLite file, or a
// database of its own (eventmall_test_<random>) on the PostgreSQL server at TEST_POSTGRES_URL
// (default: the local server, trust auth). drop() removes it.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { migrateReadDb, type ReadDbProvider } from "../../src/kernel/read/read-db";

export const READ_DB_PROVIDERS: ReadDbProvider[] = ["sqlite", "postgresql"];

export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface TestReadDb {
  provider: ReadDbProvider;
  url: string;
  drop(): Promise<void>;
}

async function onServer<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** An empty database (not migrated). */
export async function createTestDatabase(provider: ReadDbProvider): Promise<TestReadDb> {
  if (provider === "sqlite") {
    const dir = await mkdtemp(path.join(os.tmpdir(), "eventmall-readdb-"));
    return { provider, url: `file:${path.join(dir, "read.db")}`, drop: () => rm(dir, { recursive: true, force: true }) };
  }
  const name = `eventmall_test_${randomBytes(6).toString("hex")}`;
  await onServer((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    provider,
    url: url.toString(),
    drop: () => onServer((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** A database with every migration applied. */
export async function createMigratedReadDb(provider: ReadDbProvider): Promise<TestReadDb> {
  const database = await createTestDatabase(provider);
  try {
    await migrateReadDb(database.url);
  } catch (error) {
    await database.drop();
    throw error;
  }
  return database;
}
