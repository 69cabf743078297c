// The Node version the README and package.json ask for is the one the installed packages accept:
// `npm install` on it prints no EBADENGINE (on Node 20 it printed 25), and the README says the same
// major version as `engines`.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, "../..");
const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { engines: { node: string } };

describe("the supported Node version", () => {
  it("is the same major in package.json's engines and the README, and is the one running the tests", () => {
    const required = /^>=(\d+)$/.exec(manifest.engines.node)?.[1];
    expect(required, `engines.node "${manifest.engines.node}"`).toBeDefined();
    const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
    expect(readme).toContain(`Needs Node ${required} (LTS)`);
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(Number(required));
  });

  it("installs without EBADENGINE on the Node running the tests (npm install --dry-run from the lockfile)", async () => {
    // npm runs on this process's Node, whatever else is on PATH.
    const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}` };
    const { stdout, stderr } = await run("npm", ["install", "--dry-run", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: repoRoot, env, timeout: 120_000 });
    expect(`${stdout}${stderr}`).not.toContain("EBADENGINE");
  }, 150_000);
});
