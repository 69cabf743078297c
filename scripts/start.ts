// `npm start`: the whole suite on one machine — embedded event store, command service, projector,
// query service — as separate processes, after applying the read database's migrations.
// Settings come from the environment (src/kernel/process/config.ts): DATA_DIR, EVENTSTORE_PORT, COMMAND_PORT,
// QUERY_PORT, ... ; port 0 picks free ports (the command service and projector are told where the
// event store actually listens).
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startSupervisor, type ChildSpec, type Supervisor } from "../src/kernel/process/supervisor";

const repoRoot = path.resolve(import.meta.dirname, "..");

function service(name: string, file: string, readyLine: RegExp, extra: Partial<ChildSpec> = {}): ChildSpec {
  return { name, command: process.execPath, args: ["--import", "tsx", path.join(repoRoot, file)], readyLine, ...extra };
}

const useStartedEventStore = (addresses: Readonly<Record<string, string>>) => ({
  EVENTSTORE_CONNECTION_STRING: addresses.eventstore!,
});

// Each service prints a plain "… listening on URL" line or a pino JSON line with a url field.
const listeningLine = (what: string) =>
  new RegExp(`${what} listening on (https?://\\S+)|"url":"(https?://[^"]+)".*"msg":"${what} listening"`);

export const eventmallProcesses: ChildSpec[] = [
  service("eventstore", "services/eventstore/main.ts", /eventstore listening on (esdb:\/\/\S+)/),
  service("command", "services/command/main.ts", listeningLine("command service"), {
    env: useStartedEventStore,
    grpcHealth: true,
  }),
  service("projector", "services/projector/main.ts", /"msg":"projector started"/, { env: useStartedEventStore }),
  service("query", "services/query/main.ts", listeningLine("query service"), {
    env: useStartedEventStore,
    grpcHealth: true,
  }),
];

/** Started after the others when a broker is configured (NATS_URL). */
export const publisherProcess: ChildSpec = service("publisher", "services/publisher/main.ts", /"msg":"publisher configured"/, { env: useStartedEventStore });

/** The processes `npm start` runs in this environment. */
export function processesFor(env: NodeJS.ProcessEnv): ChildSpec[] {
  return env.NATS_URL ? [...eventmallProcesses, publisherProcess] : eventmallProcesses;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  output?: (line: string) => void;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
}

/** Migrates the read database, then starts every process; resolves once all are ready. */
export async function startEventmall(options: StartOptions = {}): Promise<Supervisor> {
  const given = options.env ?? process.env;
  // Children run in the repo root: pin a relative DATA_DIR to where the user started us.
  const env = { ...given, DATA_DIR: path.resolve(given.DATA_DIR || "data") };
  const output = options.output ?? ((line: string) => process.stdout.write(`${line}\n`));
  await fs.mkdir(env.DATA_DIR, { recursive: true });
  // prisma.config.ts derives the database URL from the same environment the services get.
  const migrated = await promisify(execFile)(path.join(repoRoot, "node_modules", ".bin", "prisma"), ["migrate", "deploy"], {
    cwd: repoRoot,
    env: { ...env, CHECKPOINT_DISABLE: "1" },
  });
  const printed = migrated.stdout.split("\n").filter((l) => l.trim());
  for (const line of withMigrationsFolder(printed, migrated.stderr)) output(`[migrate] ${line}`);
  return startSupervisor({
    children: processesFor(env),
    env,
    cwd: repoRoot,
    output,
    readyTimeoutMs: options.readyTimeoutMs,
    stopTimeoutMs: options.stopTimeoutMs,
  });
}

/**
 * Prisma 7's `migrate deploy` always says "N migrations found in prisma/migrations", whatever the
 * config's migrations.path; ours sit beside the schema it reports (prisma/<provider>/migrations).
 */
export function withMigrationsFolder(lines: string[], stderr: string): string[] {
  const schema = /^Prisma schema loaded from (\S+?)\.?$/m.exec(stderr)?.[1];
  if (!schema) return lines;
  const folder = `${path.posix.dirname(schema.replaceAll("\\", "/"))}/migrations`;
  return lines.map((line) => line.replace(/ found in prisma\/migrations$/, ` found in ${folder}`));
}

async function main(): Promise<void> {
  let suite: Supervisor;
  try {
    suite = await startEventmall();
  } catch (error) {
    process.stderr.write(`eventmall failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  process.stdout.write(
    [
      "",
      "eventmall is up:",
      `  event store      ${suite.addresses.eventstore}`,
      `  command service  ${suite.addresses.command}   (gRPC, gRPC-Web, Connect; reflection on)`,
      `  query service    ${suite.addresses.query}   (gRPC, gRPC-Web, Connect; reflection on)`,
      process.env.NATS_URL
        ? `  publisher        integration events to NATS ${process.env.NATS_URL} (npm run publisher -- status)`
        : "  publisher        off: set NATS_URL (e.g. nats://127.0.0.1:4222) to publish integration events to NATS JetStream",
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
  const stop = (signal: string) => {
    process.stdout.write(`[supervisor] ${signal}: stopping\n`);
    suite.stop().then(() => process.exit(0));
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  const exit = await suite.failed;
  process.stderr.write(`eventmall stopped: ${exit.name} died (code ${exit.code}, signal ${exit.signal})\n`);
  process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
