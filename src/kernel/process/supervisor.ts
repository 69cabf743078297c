// A tiny process supervisor: starts child processes in order, each after the previous one is ready,
// prefixes their output, and stops them all (reverse order, then SIGKILL after a timeout) on request
// or as soon as one of them dies on its own.
import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb";

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  /** Extra environment, computed from the addresses of the children already ready (by name). */
  env?: (addresses: Readonly<Record<string, string>>) => Record<string, string>;
  /** A line of the child's stdout or stderr that means it is ready; its first matched group is its address. */
  readyLine: RegExp;
  /** Also wait for grpc.health.v1 to report SERVING at the captured http(s) address. */
  grpcHealth?: boolean;
}

export interface SupervisorOptions {
  children: ChildSpec[];
  /** Base environment of every child (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Receives every prefixed line of child output and the supervisor's own messages. */
  output?: (line: string) => void;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
}

export interface ChildExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Supervisor {
  /** name → address captured from the ready line. */
  readonly addresses: Readonly<Record<string, string>>;
  /** Resolves when a child exits without being asked to (the others are being stopped by then). */
  readonly failed: Promise<ChildExit>;
  stop(): Promise<void>;
}

interface Running {
  spec: ChildSpec;
  child: ChildProcess;
  exited: Promise<ChildExit>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForServing(url: string, deadline: number): Promise<void> {
  // A readiness probe of a child we started ourselves: the certificate (often self-signed for local
  // TLS) says nothing we do not already know, so it is not verified here.
  const nodeOptions = url.startsWith("https:") ? { rejectUnauthorized: false } : undefined;
  const health = createClient(Health, createGrpcTransport({ baseUrl: url, nodeOptions }));
  for (;;) {
    try {
      const { status } = await health.check({ service: "" }, { timeoutMs: 2_000 });
      if (status === HealthCheckResponse_ServingStatus.SERVING) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not report SERVING in time`);
    await sleep(100);
  }
}

/** Starts every child in order; rejects (after stopping what it started) if one fails to get ready. */
export async function startSupervisor(options: SupervisorOptions): Promise<Supervisor> {
  const output = options.output ?? ((line: string) => process.stdout.write(`${line}\n`));
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const addresses: Record<string, string> = {};
  const running: Running[] = [];
  let stopping: Promise<void> | undefined;
  let reportFailure!: (exit: ChildExit) => void;
  const failed = new Promise<ChildExit>((resolve) => (reportFailure = resolve));

  const stopOne = async ({ spec, child, exited }: Running) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => {
      output(`[supervisor] ${spec.name} did not stop within ${stopTimeoutMs} ms; killing it`);
      child.kill("SIGKILL");
    }, stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  };
  // Last resort if the supervisor exits without stop(): detached children would outlive it.
  const killAll = () => {
    for (const { child } of running) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", killAll);
  const stop = () =>
    (stopping ??= (async () => {
      for (const entry of [...running].reverse()) await stopOne(entry);
      process.off("exit", killAll);
    })());

  const launch = (spec: ChildSpec): { entry: Running; ready: Promise<string> } => {
    const child = spawn(spec.command, spec.args, {
      cwd: options.cwd,
      env: { ...(options.env ?? process.env), ...spec.env?.(addresses) },
      stdio: ["ignore", "pipe", "pipe"],
      // Own process group: a terminal's Ctrl-C reaches only the supervisor, which then stops the
      // children one by one in reverse order instead of all at once.
      detached: true,
    });
    let markReady!: (address: string) => void;
    let markFailed!: (error: Error) => void;
    const ready = new Promise<string>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    ready.catch(() => {}); // a late failure after readiness (or after giving up) is reported through `failed`
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
        output(`[${spec.name}] ${line}`);
        const match = spec.readyLine.exec(line);
        if (match) markReady(match.slice(1).find((group) => group !== undefined) ?? "");
      });
    }
    const exited = new Promise<ChildExit>((resolve) => {
      child.once("error", (error) => {
        markFailed(error);
        resolve({ name: spec.name, code: null, signal: null });
      });
      child.once("exit", (code, signal) => resolve({ name: spec.name, code, signal }));
    });
    void exited.then((exit) => {
      markFailed(new Error(`${spec.name} exited before it was ready (code ${exit.code}, signal ${exit.signal})`));
      if (stopping) return;
      output(`[supervisor] ${spec.name} exited unexpectedly (code ${exit.code}, signal ${exit.signal}); stopping the rest`);
      void stop().then(() => reportFailure(exit));
    });
    return { entry: { spec, child, exited }, ready };
  };

  try {
    for (const spec of options.children) {
      const { entry, ready } = launch(spec);
      running.push(entry);
      const deadline = Date.now() + readyTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const address = await Promise.race([
        ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${spec.name} not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      if (spec.grpcHealth) {
        const died = entry.exited.then((exit) => Promise.reject(new Error(`${exit.name} exited while starting`)));
        died.catch(() => {}); // only the race below cares; a later exit is reported through `failed`
        await Promise.race([waitForServing(address, deadline), died]);
      }
      addresses[spec.name] = address;
      output(`[supervisor] ${spec.name} ready${address ? ` at ${address}` : ""}`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { addresses, failed, stop };
}
