// Keeps the PostgreSQL read-database schema identical to the SQLite one by construction, and
// creates migrations for both providers from one schema change.
//
//   tsx scripts/sync-prisma-schemas.ts            rewrite prisma/postgresql/schema.prisma
//   tsx scripts/sync-prisma-schemas.ts --check    exit 1 if the committed one is stale
//   npm run db:migration -- NAME                  sync, then add migration NAME to both providers
//
// prisma/sqlite/schema.prisma is the source of truth; edit only that file.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const root = path.resolve(import.meta.dirname, "..");
export const SQLITE_SCHEMA = path.join(root, "prisma/sqlite/schema.prisma");
export const POSTGRES_SCHEMA = path.join(root, "prisma/postgresql/schema.prisma");
const MIGRATIONS = { sqlite: path.join(root, "prisma/sqlite/migrations"), postgresql: path.join(root, "prisma/postgresql/migrations") };

const GENERATED_NOTICE = "// GENERATED from prisma/sqlite/schema.prisma by scripts/sync-prisma-schemas.ts: do not edit.\n";

/** The PostgreSQL schema for a SQLite schema: provider and client output swapped, nothing else. */
export function postgresSchemaFrom(sqliteSchema: string): string {
  const provider = /(datasource\s+db\s*\{[^}]*provider\s*=\s*)"sqlite"/;
  const output = /(generator\s+client\s*\{[^}]*output\s*=\s*"[^"]*\/)sqlite"/;
  if (!provider.test(sqliteSchema) || !output.test(sqliteSchema)) {
    throw new Error('prisma/sqlite/schema.prisma: expected a sqlite datasource "db" and a client output ending in /sqlite');
  }
  return GENERATED_NOTICE + sqliteSchema.replace(provider, '$1"postgresql"').replace(output, '$1postgresql"');
}

/**
 * PostgreSQL compares text by the database's collation (en_US.utf8 in the official image), SQLite
 * byte by byte. Text columns get the "C" collation so that sorting and keyset paging agree.
 */
export function portablePostgresSql(sql: string): string {
  return sql.replace(/("[^"]+" TEXT)(?! COLLATE)/g, '$1 COLLATE "C"');
}

export function syncSchemas(): boolean {
  const wanted = postgresSchemaFrom(readFileSync(SQLITE_SCHEMA, "utf8"));
  const current = existsSync(POSTGRES_SCHEMA) ? readFileSync(POSTGRES_SCHEMA, "utf8") : "";
  if (current === wanted) return false;
  mkdirSync(path.dirname(POSTGRES_SCHEMA), { recursive: true });
  writeFileSync(POSTGRES_SCHEMA, wanted);
  return true;
}

const prismaBin = path.join(root, "node_modules/.bin/prisma");

/** SQL that brings a database migrated with `migrationsDir` to `schema` ("" when nothing to do). */
export async function diffMigrationsToSchema(provider: "sqlite" | "postgresql", shadowUrl: string): Promise<string> {
  const schema = provider === "sqlite" ? SQLITE_SCHEMA : POSTGRES_SCHEMA;
  const { stdout } = await promisify(execFile)(
    prismaBin,
    ["migrate", "diff", "--from-migrations", MIGRATIONS[provider], "--to-schema", schema, "--script"],
    { cwd: root, env: { ...process.env, READ_DATABASE_URL: shadowUrl, SHADOW_DATABASE_URL: shadowUrl, CHECKPOINT_DISABLE: "1" } },
  );
  return /^\s*(--[^\n]*\n?|\s)*$/.test(stdout) ? "" : stdout;
}

/** A throwaway PostgreSQL database for Prisma's shadow database; dropped by the returned function. */
export async function temporaryPostgresDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `eventmall_tmp_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

function timestamp(): string {
  return new Date().toISOString().replace(/\D/g, "").slice(0, 14);
}

async function createMigration(name: string): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`migration name must be snake_case, got "${name}"`);
  const folder = `${timestamp()}_${name}`;
  const sqliteShadow = `file:${path.join(root, ".tmp", `shadow-${process.pid}.db`)}`;
  mkdirSync(path.join(root, ".tmp"), { recursive: true });
  const server = process.env.MIGRATION_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
  const shadow = await temporaryPostgresDatabase(server);
  try {
    const sqliteSql = await diffMigrationsToSchema("sqlite", sqliteShadow);
    const postgresSql = await diffMigrationsToSchema("postgresql", shadow.url);
    if (sqliteSql === "" && postgresSql === "") {
      console.log("schemas already match their migrations: nothing to create");
      return;
    }
    // Usually both; only PostgreSQL when a SQLite migration was made without this script.
    for (const [dir, sql] of [[MIGRATIONS.sqlite, sqliteSql], [MIGRATIONS.postgresql, portablePostgresSql(postgresSql)]] as const) {
      if (sql === "") continue;
      mkdirSync(path.join(dir, folder), { recursive: true });
      writeFileSync(path.join(dir, folder, "migration.sql"), sql);
      console.log(`created ${path.relative(root, path.join(dir, folder, "migration.sql"))}`);
    }
  } finally {
    await shadow.drop();
    rmSync(sqliteShadow.slice("file:".length), { force: true });
  }
}

/** Migration folder names of a provider, oldest first. */
export function migrationNames(provider: "sqlite" | "postgresql"): string[] {
  return readdirSync(MIGRATIONS[provider], { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

async function main(args: string[]): Promise<void> {
  const [flag, name] = args;
  if (flag === "--check") {
    const wanted = postgresSchemaFrom(readFileSync(SQLITE_SCHEMA, "utf8"));
    if (!existsSync(POSTGRES_SCHEMA) || readFileSync(POSTGRES_SCHEMA, "utf8") !== wanted) {
      throw new Error("prisma/postgresql/schema.prisma is stale: run `tsx scripts/sync-prisma-schemas.ts`");
    }
  } else if (flag === "--migration") {
    if (!name) throw new Error("usage: npm run db:migration -- NAME");
    syncSchemas();
    await createMigration(name);
  } else if (flag === undefined) {
    console.log(syncSchemas() ? "prisma/postgresql/schema.prisma updated" : "prisma/postgresql/schema.prisma up to date");
  } else {
    throw new Error(`unknown argument "${flag}"`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
