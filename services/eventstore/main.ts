// `npm run eventstore`: the embedded EventStoreDB-compatible store as a process.
// Flags override the environment (src/kernel/process/config.ts): --host, --port (0 = random), --data-file, --in-memory.
import { InvalidSecurityConfiguration } from "./security";
import { parseArgs } from "node:util";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../src/kernel/process/config";
import { serveMetricsIfConfigured } from "../../src/kernel/process/metrics";
import { isLoopbackHost } from "../../src/kernel/process/network";
import { ExposedWithoutAuthentication, INSECURE_BIND_ANY_SETTING, startEventStore } from "./server";
import { DURABILITY } from "./sqlite-store";
import { portInUseHint } from "../../src/kernel/process/port-in-use";

/** Exit code of a refused configuration (bad flags, unsafe address), as for usage errors. */
const EXIT_CONFIGURATION = 2;

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: eventstore [--host H] [--port N] [--data-file FILE] [--in-memory]\n`);
  process.exit(EXIT_CONFIGURATION);
}

async function main(): Promise<void> {
  let flags;
  try {
    flags = parseArgs({
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "data-file": { type: "string" },
        "in-memory": { type: "boolean" },
      },
      strict: true,
    }).values;
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const { eventStore: config, metricsPort } = loadConfig();
  const port = flags.port === undefined ? config.port : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`invalid --port "${flags.port}"`);
  const inMemory = flags["in-memory"] ?? (flags["data-file"] === undefined && config.inMemory);
  const dataFile = path.resolve(flags["data-file"] ?? config.dataFile);
  if (!inMemory) mkdirSync(path.dirname(dataFile), { recursive: true });

  const host = flags.host ?? config.host;
  const security = config.certificateFile
    ? { certificateFile: config.certificateFile, certificatePrivateKeyFile: config.certificatePrivateKeyFile, adminPassword: config.adminPassword, opsPassword: config.opsPassword }
    : undefined;
  let store;
  try {
    store = await startEventStore({ host, port, dataFile, inMemory, insecureBindAny: config.insecureBindAny, advertiseHost: config.advertiseHost, startStandardProjections: config.startStandardProjections, security });
  } catch (error) {
    if (!(error instanceof ExposedWithoutAuthentication) && !(error instanceof InvalidSecurityConfiguration)) throw error;
    // A configuration mistake, not a crash: one clear line and an exit code a supervisor will not retry into a loop.
    process.stderr.write(`eventstore: ${error.message}\n`);
    process.exit(EXIT_CONFIGURATION);
  }
  if (!isLoopbackHost(host) && !security) {
    process.stderr.write(
      `eventstore WARNING: listening on ${host} without authentication or TLS (${INSECURE_BIND_ANY_SETTING}=true): ` +
        `anyone who reaches this port can read, append and delete every stream\n`,
    );
  }
  const storage = inMemory ? "in memory" : `${dataFile} (${DURABILITY})`;
  // One parsable line: tests and scripts that start with --port 0 read the chosen port from it.
  process.stdout.write(`eventstore listening on ${store.connectionString} port=${store.port} storage=${storage}\n`);
  const metrics = await serveMetricsIfConfigured("eventstore", metricsPort.eventstore, host);
  if (metrics.server) process.stdout.write(`eventstore metrics on ${metrics.server.url}\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`eventstore stopping (${signal})\n`);
    Promise.all([store.stop(), metrics.server?.close()]).then(
      () => {
        process.stdout.write("eventstore stopped\n");
        process.exit(0);
      },
      (error) => {
        process.stderr.write(`eventstore stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

main().catch((error) => {
  const hint = portInUseHint(error, "EVENTSTORE_PORT");
  if (hint) process.stderr.write(`eventstore failed to start: ${hint}\n`);
  process.stderr.write(`eventstore failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
