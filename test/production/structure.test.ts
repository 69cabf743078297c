// The code's shape, kept: no import cycles in src/ or services/ (madge, the maintained
// dependency-graph tool, reads the same TypeScript imports tsc does), no kernel file over 300
// lines, and no domain word in the kernel (it holds what is not domain).
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const kernel = path.join(repoRoot, "src/kernel");

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : /\.(ts|mjs)$/.test(entry.name) ? [full] : [];
  });
}

describe("code structure", () => {
  it("has no import cycle in src/ or services/", async () => {
    // In a child process: its TypeScript parser's deprecation warnings stay out of the test output.
    const madge = path.join(repoRoot, "node_modules", ".bin", "madge");
    const args = ["--extensions", "ts,mjs", "--ts-config", "tsconfig.json", "--exclude", "src/generated", "--json", "src", "services", "scripts"];
    const { stdout: graphJson } = await promisify(execFile)(madge, args, { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
    const graph = JSON.parse(graphJson) as Record<string, string[]>;
    expect(Object.keys(graph).length, "madge read the code").toBeGreaterThan(100);
    const { stdout } = await promisify(execFile)(madge, ["--circular", ...args], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
    expect(JSON.parse(stdout)).toEqual([]);
  }, 60_000);

  it("keeps every kernel file under 300 lines", () => {
    const long = filesUnder(kernel)
      .map((file) => ({ file: path.relative(repoRoot, file), lines: fs.readFileSync(file, "utf8").split("\n").length }))
      .filter((entry) => entry.lines > 300);
    expect(long).toEqual([]);
  });

  it("keeps domain words out of the kernel", () => {
    // "order" is also plain English (in $all order); its domain forms are identifiers and strings.
    const domain = /\b(products?|members?|inventor(y|ies)|stocks?|orders?(Id|_id)|Orders?[A-Z]\w*|"orders?")\b/i;
    const offenders = filesUnder(kernel).flatMap((file) =>
      fs
        .readFileSync(file, "utf8")
        .split("\n")
        .flatMap((line, i) => (domain.test(line) ? [`${path.relative(repoRoot, file)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(offenders).toEqual([]);
  });
});
