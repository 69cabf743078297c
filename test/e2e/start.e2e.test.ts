// `npm start` itself (scripts/start.ts as a process): clean stop on SIGTERM in reverse order, and
// exit non-zero, stopping the others, when one of its processes dies or its port is taken (with a
// hint naming the port's variable).
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { afterEach, describe, expect, it } from "vitest";

const repoRoot = path.resolve(import.meta.dirname, "../..");

interface Started {
  process: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  dataDir: string;
}

const started: Started[] = [];

function launch(settings: NodeJS.ProcessEnv = {}): Started {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "eventmall-start-"));
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, EVENTSTORE_PORT: "0", COMMAND_PORT: "0", QUERY_PORT: "0", ...settings };
  for (const name of ["READ_DATABASE_URL", "EVENTSTORE_DATA_FILE", "EVENTSTORE_CONNECTION_STRING", "AUTH_TOKEN_SECRET"]) {
    delete env[name];
  }
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on("line", (line) => lines.push(line));
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const entry = { process: child, lines, exited, dataDir };
  started.push(entry);
  return entry;
}

async function startScript(): Promise<Started> {
  const entry = launch();
  const { process: child, lines } = entry;
  const deadline = Date.now() + 150_000;
  while (!lines.includes("eventmall is up:")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`npm start did not come up:\n${lines.slice(-30).join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return entry;
}

/** pid → name of the service each direct child of `pid` runs. */
function servicesOf(pid: number): Map<number, string> {
  const out = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(pid)], { encoding: "utf8" });
  const services = new Map<number, string>();
  for (const line of out.split("\n")) {
    const match = /^\s*(\d+)\s.*services\/(\w+)\/main\.ts/.exec(line);
    if (match) services.set(Number(match[1]), match[2]!);
  }
  return services;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

afterEach(async () => {
  for (const entry of started.splice(0)) {
    if (entry.process.exitCode === null) {
      entry.process.kill("SIGTERM");
      await entry.exited;
    }
    fs.rmSync(entry.dataDir, { recursive: true, force: true });
  }
});

describe("npm start", () => {
  it("prints every address, then on SIGTERM stops the processes in reverse order and exits 0", async () => {
    const run = await startScript();
    expect(run.lines.some((l) => /^ {2}command service {2}http:\/\/127\.0\.0\.1:\d+/.test(l))).toBe(true);
    expect(run.lines.some((l) => /^ {2}query service {4}http:\/\/127\.0\.0\.1:\d+/.test(l))).toBe(true);
    const services = servicesOf(run.process.pid!);
    expect([...services.values()].sort()).toEqual(["command", "eventstore", "projector", "query"]);

    run.process.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    for (const pid of services.keys()) expect(isAlive(pid)).toBe(false);
    // Each service logs its shutdown: query first, event store last.
    const order = ["query", "projector", "command", "eventstore"].map((name) =>
      run.lines.findIndex((l) => l.startsWith(`[${name}]`) && /shutting down|stopping/.test(l)),
    );
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // ... and says when it is done, the event store too.
    expect(run.lines.findIndex((l) => l === "[eventstore] eventstore stopped")).toBeGreaterThan(order[3]!);
    // Prisma names the migrations folder it actually read.
    expect(run.lines).toContainEqual(expect.stringMatching(/^\[migrate\] \d+ migrations? found in prisma\/sqlite\/migrations$/));
  }, 240_000);

  it.each(["EVENTSTORE_PORT", "COMMAND_PORT"])("exits non-zero naming %s when its port is taken", async (variable) => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    try {
      const run = launch({ [variable]: String((squatter.address() as net.AddressInfo).port) });
      expect(await run.exited).toBe(1);
      expect(run.lines.join("\n")).toMatch(new RegExp(`port \\d+ is already in use .*set ${variable} to a free port`));
    } finally {
      squatter.close();
    }
  }, 240_000);

  it("stops the rest and exits non-zero when one process dies", async () => {
    const run = await startScript();
    const services = servicesOf(run.process.pid!);
    const [projectorPid] = [...services].find(([, name]) => name === "projector")!;
    process.kill(projectorPid, "SIGKILL");

    expect(await run.exited).toBe(1);
    for (const pid of services.keys()) expect(isAlive(pid)).toBe(false);
    expect(run.lines.some((l) => l.includes("projector exited unexpectedly"))).toBe(true);
  }, 240_000);
});
