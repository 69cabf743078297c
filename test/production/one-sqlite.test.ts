// One SQLite library per process. Prisma's SQLite adapter and our own code (rebuild copies) must
// load the same better-sqlite3: two copies are two SQLite libraries whose POSIX locks on one file
// clobber each other, and another process may then delete the live WAL under us (lost writes,
// SQLITE_IOERR_SHORT_READ). package.json's overrides pin the adapter to our version.
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";

const repoRoot = path.resolve(import.meta.dirname, "../..");

describe("better-sqlite3", () => {
  it("resolves to one copy for our code and for Prisma's SQLite adapter", () => {
    const ours = createRequire(path.join(repoRoot, "package.json")).resolve("better-sqlite3");
    const adapterEntry = createRequire(path.join(repoRoot, "package.json")).resolve("@prisma/adapter-better-sqlite3");
    const adapters = createRequire(adapterEntry).resolve("better-sqlite3");
    expect(adapters).toBe(ours);
  });
});
