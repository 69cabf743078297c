// Where a blue/green rebuild builds its fresh copy, per read-database provider, and how the
// swap transaction on the live database reads and replaces tables from it.
//   SQLite:     a new file beside the live one with the live file's schema, ATTACHed to the live
//               connection for the swap.
//   PostgreSQL: a new schema in the live database (same migrations through ?schema=), read by
//               the live connection as "schema"."table"; DROP SCHEMA … CASCADE afterwards.
import fs from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { migrateReadDb, openReadDb, readDbProvider, schemaOf, withSchema, type ReadDb, type ReadDbProvider, type ReadTx } from "./read-db";

/** Where the fresh copy lives and how the live database's connection reaches its tables. */
export interface FreshDatabase {
  provider: ReadDbProvider;
  url: string;
  /** Creates the copy's tables, empty: the same schema as the live database's. */
  create(): Promise<void>;
  /** Settings for a copy that is disposable until the swap (faster, not durable). */
  tune(copy: ReadDb): Promise<void>;
  /** Makes the fresh copy's tables visible to `live` (outside any transaction). */
  attach(live: ReadDb): Promise<void>;
  detach(live: ReadDb): Promise<void>;
  /** The fresh copy's table as the live connection names it. */
  table(name: string): string;
  /** Deletes the fresh copy. */
  drop(): Promise<void>;
}

const ATTACHED = "rebuild_copy";

/** The tables a projection owns, which a rebuild replaces and a verify compares; throws when it declares none. */
export function projectionTables(projection: { name: string; tables?: string[] }, purpose: string): string[] {
  const tables = projection.tables ?? [];
  if (tables.length === 0) throw new Error(`projection ${projection.name} declares no tables: ${purpose}`);
  return tables;
}

/**
 * Runs `work` with a fresh, empty copy of the live database's schema, opened on one connection
 * (builds are sequential, and session settings stay on it) with the settings of a copy that is
 * disposable; the copy is closed and dropped afterwards, whatever happens.
 */
export async function withFreshCopy<T>(liveUrl: string, name: string, work: (fresh: FreshDatabase, copy: ReadDb) => Promise<T>): Promise<T> {
  const fresh = freshDatabaseFor(liveUrl, name);
  let copy: ReadDb | undefined;
  try {
    await fresh.create();
    copy = await openReadDb(fresh.url, { poolSize: 1 });
    await fresh.tune(copy);
    return await work(fresh, copy);
  } finally {
    await copy?.$disconnect();
    await fresh.drop();
  }
}

export function freshDatabaseFor(liveUrl: string, projectionName: string): FreshDatabase {
  const suffix = `${projectionName.replace(/[^A-Za-z0-9_-]/g, "_")}-${process.pid}-${Date.now()}`;
  return readDbProvider(liveUrl) === "postgresql" ? freshSchema(liveUrl, suffix) : freshFile(liveUrl, suffix);
}

function freshFile(liveUrl: string, suffix: string): FreshDatabase {
  const livePath = path.resolve(liveUrl.slice("file:".length).split("?")[0]!);
  const file = path.join(path.dirname(livePath), `${path.basename(livePath)}.rebuild-${suffix}`);
  return {
    provider: "sqlite",
    url: `file:${file}`,
    // The live database's own CREATE statements (in creation order): the same schema as the
    // migrations gave it, without starting the Prisma CLI (seconds) for a disposable file.
    async create() {
      const live = new Database(livePath, { readonly: true, fileMustExist: true });
      let statements: { sql: string }[];
      try {
        statements = live.prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid").all() as { sql: string }[];
      } finally {
        live.close();
      }
      const copy = new Database(file);
      try {
        copy.transaction(() => statements.forEach(({ sql }) => copy.exec(sql)))();
      } finally {
        copy.close();
      }
    },
    async tune(copy) {
      await copy.$queryRawUnsafe("PRAGMA synchronous = OFF");
    },
    async attach(live) {
      await live.$executeRawUnsafe(`ATTACH DATABASE '${file.replaceAll("'", "''")}' AS ${ATTACHED}`);
    },
    async detach(live) {
      await live.$executeRawUnsafe(`DETACH DATABASE ${ATTACHED}`);
    },
    table: (name) => `${ATTACHED}."${name}"`,
    async drop() {
      for (const end of ["", "-wal", "-shm", "-journal"]) await fs.rm(`${file}${end}`, { force: true });
    },
  };
}

function freshSchema(liveUrl: string, suffix: string): FreshDatabase {
  // Unquoted-identifier safe and within PostgreSQL's 63-byte limit.
  const schema = `rebuild_${suffix.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`.slice(0, 63);
  const quoted = `"${schema}"`;
  return {
    provider: "postgresql",
    url: withSchema(liveUrl, schema),
    create: () => migrateReadDb(withSchema(liveUrl, schema)),
    async tune(copy) {
      // Per connection; the build pass runs its transactions one after another on few connections.
      await copy.$executeRawUnsafe("SET synchronous_commit = off");
    },
    async attach() {},
    async detach() {},
    table: (name) => `${quoted}."${name}"`,
    async drop() {
      const client = new pg.Client({ connectionString: withSchema(liveUrl, undefined) });
      await client.connect();
      try {
        // Never the live schema, whatever the URL says.
        if (schema === (schemaOf(liveUrl) ?? "public")) throw new Error(`refusing to drop the live schema ${schema}`);
        await client.query(`DROP SCHEMA IF EXISTS ${quoted} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Replaces every row of `table` in the live database (inside `tx`) with the fresh copy's. */
export function replaceTable(tx: ReadTx, fresh: FreshDatabase, table: string): Promise<number> {
  return replace(tx, fresh, table);
}

/** Replaces the rows of `table` whose `column` equals `value` with the fresh copy's. */
export function replaceRows(tx: ReadTx, fresh: FreshDatabase, table: string, column: string, value: string): Promise<number> {
  return replace(tx, fresh, table, { column, value });
}

async function replace(tx: ReadTx, fresh: FreshDatabase, table: string, only?: { column: string; value: string }): Promise<number> {
  const columns = (await columnsOf(tx, fresh.provider, table)).map((c) => `"${c}"`).join(", ");
  if (columns === "") throw new Error(`table ${table} does not exist in the read database`);
  if (only) assertIdentifier(only.column);
  const where = only ? ` WHERE "${only.column}" = ${fresh.provider === "postgresql" ? "$1" : "?"}` : "";
  const values = only ? [only.value] : [];
  await tx.$executeRawUnsafe(`DELETE FROM "${table}"${where}`, ...values);
  return tx.$executeRawUnsafe(`INSERT INTO "${table}" (${columns}) SELECT ${columns} FROM ${fresh.table(table)}${where}`, ...values);
}

/** The live table's columns, in order (the copy has the same ones: same migrations). */
async function columnsOf(tx: ReadTx, provider: ReadDbProvider, table: string): Promise<string[]> {
  assertIdentifier(table);
  if (provider === "sqlite") return (await tx.$queryRawUnsafe<{ name: string }[]>(`PRAGMA main.table_info("${table}")`)).map((c) => c.name);
  const rows = await tx.$queryRawUnsafe<{ name: string }[]>(
    "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    table,
  );
  return rows.map((c) => c.name);
}

function assertIdentifier(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a table or column name: "${name}"`);
}
