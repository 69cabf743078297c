// What the benchmark ran on: the figures only mean something next to these.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const repoRoot = path.resolve(import.meta.dirname, "../..");

export function loadAverage(): string {
  return os.loadavg().map((v) => v.toFixed(2)).join(", ");
}

export function machineDescription(): string[] {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const memoryGiB = (os.totalmem() / 2 ** 30).toFixed(1);
  return [`${os.availableParallelism()} CPUs (nproc), ${cpu}`, `${memoryGiB} GiB memory`, `${os.type()} ${os.release()}`];
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(repoRoot, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "absent";
  }
}

export function versions(): string {
  const packages = [
    "@eventstore/db-client",
    "@grpc/grpc-js",
    "@connectrpc/connect-node",
    "better-sqlite3",
    "@prisma/client",
    "@event-driven-io/emmett",
    "@event-driven-io/emmett-sqlite",
    "@event-driven-io/emmett-postgresql",
    "sqlite3",
    "pg",
    "hdr-histogram-js",
  ];
  return [`node ${process.version}`, ...packages.map((name) => `${name} ${packageVersion(name)}`)].join(", ");
}

export function postgresVersion(): string {
  try {
    return execFileSync("psql", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "psql not found";
  }
}

export function gitRevision(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

/**
 * Milliseconds a fixed single-threaded workload takes (arithmetic, short-lived objects, JSON;
 * median of three), to compare runs: on a shared VM the host's speed moves between runs and
 * within one, and load average does not show it.
 */
export function hostSpeedMs(): number {
  const runs: number[] = [];
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    let sum = 0;
    for (let i = 0; i < 20_000_000; i++) sum += i % 7;
    let batch: { i: number; s: string }[] = [];
    for (let i = 0; i < 300_000; i++) {
      batch.push({ i, s: `item ${i}` });
      if (batch.length === 100) {
        sum += JSON.parse(JSON.stringify(batch)).length;
        batch = [];
      }
    }
    runs.push(performance.now() - started + (sum < 0 ? 1 : 0));
  }
  return runs.sort((a, b) => a - b)[1]!;
}
