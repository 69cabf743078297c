// Child processes the benchmarks start (the embedded store, the command service), each one OS
// process (node --import tsx), registered so the runner can stop every one of them on exit.
import { fork, spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import path from "node:path";
import readline from "node:readline";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const running = new Set<ChildProcess>();

// Settings from the developer's shell that would point a child at real files or servers.
const INHERITED = ["READ_DATABASE_URL", "EVENTSTORE_DATA_FILE", "EVENTSTORE_IN_MEMORY", "EVENTSTORE_CONNECTION_STRING", "EVENTSTORE_HOST", "GRPC_TLS_CERT_FILE", "GRPC_TLS_KEY_FILE", "DATA_DIR"];

export interface StartedProcess {
  child: ChildProcess;
  match: RegExpMatchArray;
  stop(): Promise<void>;
}

/** A child's environment: this one's, without settings that point at real files or servers, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "warn" };
  for (const key of INHERITED) delete base[key];
  return { ...base, ...env };
}

/** Node flags for every child (BENCH_CHILD_NODE_ARGS, e.g. for profiling), then the TypeScript loader. */
function childExecArgv(): string[] {
  return [...(process.env.BENCH_CHILD_NODE_ARGS?.split(" ").filter(Boolean) ?? []), "--import", "tsx"];
}

/** Registers `child` for killAllStarted; resolves when it has exited. */
function track(child: ChildProcess): Promise<void> {
  running.add(child);
  child.once("exit", () => running.delete(child));
  return new Promise<void>((resolve) => child.once("exit", () => resolve()));
}

/** Starts services/<name>/main.ts and resolves once a line matches `ready`. */
export function startServiceProcess(name: string, args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = 120_000): Promise<StartedProcess> {
  return startScriptProcess(name, path.join("services", name, "main.ts"), args, env, ready, { timeoutMs });
}

export interface ScriptProcessOptions {
  timeoutMs?: number;
  /** Node flags before the ones every child gets (childExecArgv). */
  nodeArgs?: string[];
  /** Every line the child writes (stdout and stderr), from the start. */
  onLine?: (line: string) => void;
}

/** Starts a TypeScript script (relative to the repository) and resolves once a line matches `ready`. */
export function startScriptProcess(name: string, script: string, args: string[], env: Record<string, string>, ready: RegExp, options: ScriptProcessOptions = {}): Promise<StartedProcess> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...childExecArgv(), script, ...args], {
    cwd: repoRoot,
    env: childEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = track(child);
  const tail: string[] = [];
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name}: not ready within ${timeoutMs} ms\n${tail.join("\n")}`)), timeoutMs);
    const onExit = () => fail(new Error(`${name} exited before it was ready\n${tail.join("\n")}`));
    child.once("exit", onExit);
    function fail(error: Error) {
      clearTimeout(timer);
      void stop().then(() => reject(error));
    }
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on("line", (line) => {
        if (process.env.BENCH_CHILD_LOG_DIR) appendFileSync(path.join(process.env.BENCH_CHILD_LOG_DIR, `${name}-${child.pid}.log`), `${line}\n`);
        options.onLine?.(line);
        tail.push(line);
        if (tail.length > 30) tail.shift();
        const match = line.match(ready);
        if (match) {
          clearTimeout(timer);
          child.off("exit", onExit);
          resolve({ child, match, stop });
        }
      });
    }
  });
}

export async function startEventStoreProcess(dataFile: string): Promise<StartedProcess & { connectionString: string }> {
  const started = await startServiceProcess("eventstore", ["--port", "0", "--data-file", dataFile], {}, /listening on (\S+) port=/);
  return { ...started, connectionString: started.match[1]! };
}

/** Kills every child still running (the runner's last resort on errors and signals). */
export function killAllStarted(): void {
  for (const child of running) child.kill("SIGKILL");
}

/** CPU time (ms) a process has used so far, from /proc (Linux; clock ticks of 100 Hz). */
export function processCpuMillis(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC on Linux: the same in every process). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface ProjectorProcess {
  pid: number;
  stop(): Promise<void>;
}

/**
 * The product projector in its own process (projector-child.ts); `onApplied` hears each committed
 * run's last position and when it was applied (monotonicMs of that process).
 */
export async function startProjectorProcess(env: Record<string, string>, onApplied: (position: bigint, at: number) => void): Promise<ProjectorProcess> {
  const child = fork(path.join(import.meta.dirname, "projector-child.ts"), [], {
    cwd: repoRoot,
    env: childEnv(env),
    execArgv: childExecArgv(),
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = track(child);
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`projector exited (${code}) before it was ready`)));
    child.on("message", (message: { ready?: boolean; position?: string; at?: number }) => {
      if (message.ready) resolve();
      else if (message.position !== undefined) onApplied(BigInt(message.position), message.at!);
    });
  });
  return {
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.disconnect();
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
