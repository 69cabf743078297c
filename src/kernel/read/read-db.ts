// The read database (query side): a Prisma client over a driver adapter chosen by the URL.
// The client is generated per provider into src/generated/read-db/<provider> (npm run generate).
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient as PostgresPrismaClient } from "../../generated/read-db/postgresql/client";
import { PrismaClient, Prisma } from "../../generated/read-db/sqlite/client";

export type ReadDb = PrismaClient;
/** What a projection's apply step writes through: the open interactive transaction. */
export type ReadTx = Prisma.TransactionClient;

const repoRoot = path.resolve(import.meta.dirname, "../../..");

export type ReadDbProvider = "sqlite" | "postgresql";

const SQLITE_BUSY_TIMEOUT_MS = 2_000;

/** Which provider a READ_DATABASE_URL names: file: is SQLite, postgres(ql):// is PostgreSQL. */
export function readDbProvider(url: string): ReadDbProvider {
  if (url.startsWith("file:")) return "sqlite";
  if (/^postgres(ql)?:\/\//.test(url)) return "postgresql";
  throw new Error(`unsupported read database URL "${redact(url)}": use file: (SQLite) or postgres(ql):// (PostgreSQL)`);
}

/** Opens the read database: SQLite for file: URLs, PostgreSQL for postgres(ql):// URLs. */
export async function openReadDb(url: string, options: { poolSize?: number } = {}): Promise<ReadDb> {
  if (readDbProvider(url) === "postgresql") {
    // ?schema=X (as Prisma's CLI reads it): the models and raw SQL both address schema X.
    const schema = schemaOf(url);
    const pool = { connectionString: withSchema(url, undefined), max: options.poolSize ?? 10, ...(schema ? { options: `-c search_path="${schema}"` } : {}) };
    const client = new PostgresPrismaClient({ adapter: new PrismaPg(pool, schema ? { schema } : undefined) });
    await client.$connect();
    // The schemas are generated from one source (scripts/sync-prisma-schemas.ts), so the two
    // clients have the same models; the SQLite client's types stand for both.
    return client as unknown as ReadDb;
  }
  // timeout = SQLite busy timeout: how long a write waits for another writer. better-sqlite3 waits
  // synchronously, blocking the whole process (its gRPC keepalives included), so the wait is kept
  // short; a longer lock surfaces as SQLITE_BUSY, an infrastructure failure that callers wait out
  // asynchronously (the projector) or answer with UNAVAILABLE (the query service).
  const db = new PrismaClient({ adapter: new PrismaBetterSqlite3({ url, timeout: SQLITE_BUSY_TIMEOUT_MS }) });
  // WAL lets readers proceed while the projector's transaction is open.
  await db.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  return db;
}

/** Applies the committed migrations (`prisma migrate deploy`) to the database at `url`. */
export async function migrateReadDb(url: string): Promise<void> {
  const prisma = path.join(repoRoot, "node_modules", ".bin", "prisma");
  await promisify(execFile)(prisma, ["migrate", "deploy"], {
    cwd: repoRoot,
    env: { ...process.env, READ_DATABASE_URL: url, CHECKPOINT_DISABLE: "1" },
  });
}

/** The PostgreSQL schema a URL names with ?schema= (undefined: the server's default, public). */
export function schemaOf(url: string): string | undefined {
  return new URL(url).searchParams.get("schema") ?? undefined;
}

/** The URL with ?schema= set to `schema`, or removed when undefined. */
export function withSchema(url: string, schema: string | undefined): string {
  const parsed = new URL(url);
  if (schema === undefined) parsed.searchParams.delete("schema");
  else parsed.searchParams.set("schema", schema);
  return parsed.toString();
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
