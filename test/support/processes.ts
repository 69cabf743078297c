// Real service processes for tests: `node --import tsx services/<name>/main.ts` (one OS process,
// so a SIGKILL hits the service itself), with their output kept and parsed.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";

const repoRoot = path.resolve(import.meta.dirname, "../..");

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Every stdout and stderr line so far. */
  readonly lines: string[];
  /** stdout lines that are pino JSON records, parsed. */
  records(): Record<string, unknown>[];
  /** Resolves with the first line (past or future) matching `pattern`'s match. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** SIGTERM (graceful) and wait; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | NodeJS.Signals>;
}

// Settings from the developer's shell that would point a test process at real files or servers.
const INHERITED = ["READ_DATABASE_URL", "EVENTSTORE_DATA_FILE", "EVENTSTORE_IN_MEMORY", "EVENTSTORE_CONNECTION_STRING", "EVENTSTORE_HOST", "EVENTSTORE_INSECURE_BIND_ANY", "EVENTMALL_HOST", "GRPC_TLS_CERT_FILE", "GRPC_TLS_KEY_FILE"];

export function startService(name: "eventstore" | "command" | "query" | "projector" | "publisher", env: Record<string, string>, args: string[] = []): ServiceProcess {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const key of INHERITED) delete base[key];
  // Nothing a test starts writes under the repository's ./data.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `eventmall-${name}-`));
  base.DATA_DIR = dataDir;
  const child = spawn(process.execPath, ["--import", "tsx", path.join("services", name, "main.ts"), ...args], {
    cwd: repoRoot,
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      for (const watcher of watchers) watcher(line);
    });
  }
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once("exit", (code, signal) => {
      rmSync(dataDir, { recursive: true, force: true });
      resolve(signal ?? code ?? 0);
    }),
  );

  function waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    for (const line of lines) {
      const match = line.match(pattern);
      if (match) return Promise.resolve(match);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms\n${lines.slice(-30).join("\n")}`)), timeoutMs);
      const onExit = () => done(new Error(`${name} exited before printing ${pattern}\n${lines.slice(-30).join("\n")}`));
      const watcher = (line: string) => {
        const match = line.match(pattern);
        if (match) done(undefined, match);
      };
      function done(error: Error | undefined, match?: RegExpMatchArray) {
        clearTimeout(timer);
        watchers.delete(watcher);
        child.off("exit", onExit);
        if (error) reject(error);
        else resolve(match!);
      }
      watchers.add(watcher);
      child.once("exit", onExit);
    });
  }

  return {
    child,
    lines,
    records: () =>
      lines.flatMap((line) => {
        if (!line.startsWith("{")) return [];
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    waitFor,
    exited,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
}

/** The URL a command or query service printed when it started listening. */
export async function listeningUrl(service: ServiceProcess): Promise<string> {
  const match = await service.waitFor(/listening on (https?:\/\/[^\s"]+)|"url":"(https?:\/\/[^"]+)"/);
  return match[1] ?? match[2]!;
}
