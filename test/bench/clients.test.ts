// bench:clients in its smoke configuration (--quick), as a process: both clients run in their own
// child processes against one store, the run stops by itself, leaves no store data behind and
// writes a row per measure with a figure for each client. Timings are not asserted.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

describe("npm run bench:clients --quick", () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("measures both clients on the same work and writes a complete table", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "eventmall-bench-clients-test-"));
    const out = path.join(dir, "clients.md");
    const storeDirsBefore = new Set((await readdir(os.tmpdir())).filter((name) => name.startsWith("bench-clients-")));
    const { stdout } = await run(path.join(repoRoot, "node_modules/.bin/tsx"), ["bench/clients.ts", "--quick", "--out", out], {
      cwd: repoRoot,
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain("written to");
    expect(stdout).toMatch(/round 2\/2: @eventstore\/db-client/);
    expect(stdout).toMatch(/round 2\/2: @kurrent\/kurrentdb-client/);

    const document = await readFile(out, "utf8");
    expect(document).toContain("npm run bench:clients -- --quick --out");
    expect(document).toMatch(/Node v24\.\d+\.\d+/);
    expect(document).toMatch(/Host speed .*: \d+ ms at start, \d+ ms at end/);
    expect(document).toMatch(/@eventstore\/db-client \d+\.\d+\.\d+ .* @kurrent\/kurrentdb-client \d+\.\d+\.\d+/);

    const rows = document.split("\n").filter((line) => /^\| [A-Z]/.test(line) && !line.startsWith("| Measure"));
    const figure = String.raw`[\d.]+ \([\d.]+–[\d.]+\)`;
    for (const measure of ["Appends, 1 in flight: appends/s", "Appends, 32 in flight: client CPU µs per append", "Read one 1,000-event stream: client CPU ms", "Catch-up subscription over 5,000 events of $all: events/s", "Persistent subscription, 1,000 events delivered and acked: wall ms"]) {
      const row = rows.find((line) => line.startsWith(`| ${measure} |`));
      expect(row, measure).toMatch(new RegExp(`^\\| [^|]+ \\| ${figure} \\| ${figure} \\| [\\d.]+× \\| (higher|lower) \\|$`));
    }
    expect(rows).toHaveLength(22);

    const storeDirsAfter = (await readdir(os.tmpdir())).filter((name) => name.startsWith("bench-clients-") && !storeDirsBefore.has(name));
    expect(storeDirsAfter).toEqual([]);
  });
});
