// The benchmark harness in its smoke configuration (--quick), as a process like `npm run bench`:
// it must finish by itself, clean up, and write a complete table. Timings are not asserted.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const postgresUrl = process.env.TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

async function benchDatabases(): Promise<string[]> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'eventmall_bench_%'");
    return rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}

describe("npm run bench --quick", () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("runs every benchmark, writes a complete table and leaves no temp directory behind", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "eventmall-bench-test-"));
    const out = path.join(dir, "BENCHMARKS.md");
    const benchDirsBefore = new Set((await readdir(os.tmpdir())).filter((name) => name.startsWith("eventmall-bench-run-")));
    const databasesBefore = new Set(await benchDatabases());
    const { stdout } = await run(path.join(repoRoot, "node_modules/.bin/tsx"), ["bench/run.ts", "--quick", "--out", out, "--postgres-url", postgresUrl], {
      cwd: repoRoot,
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain(`written to`);

    const document = await readFile(out, "utf8");
    expect(document).toContain("npm run bench -- --quick --out");
    expect(document).toMatch(/Load average \(1, 5, 15 min\) at start: [\d.]+, [\d.]+, [\d.]+; at end: [\d.]+, [\d.]+, [\d.]+/);
    expect(document).toMatch(/node v\d+/);
    expect(document).toContain("@event-driven-io/emmett-sqlite");

    const rows = document.split("\n").filter((line) => /^\| [1-4] \|/.test(line));
    const sections = new Set(rows.map((line) => line.split("|")[1]!.trim()));
    expect([...sections].sort()).toEqual(["1", "2", "3", "4"]);
    expect(rows.filter((line) => line.includes("| failed |"))).toEqual([]);
    for (const measure of [
      "full replay of 300 events",
      "snapshot + 5-event tail",
      "snapshot speed-up",
      "withdrawn in the last 7 days, read model",
      "extrapolated",
      "open loop at 20/s",
      "open loop at 50/s",
      "saturation",
      "floor: an RPC that does nothing",
      "floor: an append straight to the store",
      "Emmett SQLite",
      "Emmett PostgreSQL",
      "eventmall / Emmett SQLite",
      "eventmall / Emmett PostgreSQL",
    ]) {
      expect(rows.some((line) => line.includes(measure)), measure).toBe(true);
    }
    // Every target row carries a verdict.
    for (const line of rows.filter((row) => row.includes("≤") || row.includes("≥"))) expect(line).toMatch(/\| (met|\*\*missed\*\*) \|/);

    const benchDirsAfter = (await readdir(os.tmpdir())).filter((name) => name.startsWith("eventmall-bench-run-"));
    expect(benchDirsAfter.filter((name) => !benchDirsBefore.has(name))).toEqual([]);
    expect((await benchDatabases()).filter((name) => !databasesBefore.has(name))).toEqual([]);
  }, 300_000);
});
