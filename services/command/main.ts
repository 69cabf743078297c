// The command service process: `npm run service:command`.
import { pino } from "pino";
import { loadConfig, type Config } from "../../src/kernel/process/config";
import { createTokenService, refusingRevoked } from "../../src/kernel/auth/auth";
import { createEventStoreClient } from "../../src/kernel/write/event-store";
import { serveMetricsIfConfigured } from "../../src/kernel/process/metrics";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { startWithdrawnMemberRevocations } from "../../src/member/revocation";
import { hostedModules } from "../../src/kernel/process/context-module";
import { contextModules } from "../../src/modules";
import { startCommandServer } from "./server";
import { stopOnSignals } from "../../src/kernel/process/shutdown";
import { portInUseHint } from "../../src/kernel/process/port-in-use";

const logger = pino({ name: "command", level: loadConfig().logLevel });

async function main(): Promise<void> {
  const config = loadConfig();
  const eventStore = createEventStoreClient(config);
  const metrics = await serveMetricsIfConfigured("command", config.metricsPort.command, config.host);
  if (metrics.server) logger.info({ url: metrics.server.url }, "metrics endpoint listening");
  // Only the databases the hosted contexts' command services use (src/<context>/module.ts).
  const hosted = hostedModules(contextModules, config.command.contexts);
  const needs = (database: "read" | "write-side") => hosted.some((module) => module.commandDatabases?.includes(database));
  const readDb = needs("read") ? await openReadDb(config.readDatabaseUrl) : undefined;
  const credentialsDb = needs("write-side") ? await openCredentialsDb(config, readDb) : undefined;
  // Before serving: a withdrawn member's still-valid token must already be refused.
  const revoked = await startWithdrawnMemberRevocations(eventStore, logger);
  const server = await startCommandServer({
    eventStore,
    host: config.host,
    port: config.command.port,
    snapshotEvery: config.command.snapshotEvery,
    maxConflictRetries: config.command.maxConflictRetries,
    cacheSize: config.command.cacheSize,
    logger,
    tls: config.grpcTls,
    tokens: refusingRevoked(createTokenService(config), revoked),
    contexts: config.command.contexts,
    // This replica refuses a member's tokens from the withdrawal on; others as the event reaches them.
    settings: { member: { adminLoginIds: config.auth.adminLoginIds, onWithdrawn: (memberId) => revoked.revoke(memberId) } },
    readDb,
    credentialsDb,
  });
  // Scripts and tests wait for this exact line (and read the port from it).
  console.log(`command service listening on ${server.url}`);
  logger.info({ url: server.url }, "listening");

  stopOnSignals(
    logger,
    async () => {
      await server.close();
      await revoked.close();
      await metrics.server?.close();
      await eventStore.dispose();
      await readDb?.$disconnect();
      if (credentialsDb !== readDb) await credentialsDb?.$disconnect();
    },
    { exitWhenDone: true },
  );
}

/** The credentials database (the read database's client when both URLs are one), checked to be migrated. */
async function openCredentialsDb(config: Config, readDb: ReadDb | undefined): Promise<ReadDb> {
  const db = readDb && config.credentialsDatabaseUrl === config.readDatabaseUrl ? readDb : await openReadDb(config.credentialsDatabaseUrl);
  try {
    await db.memberCredential.findFirst({ select: { memberId: true } });
  } catch (error) {
    throw new Error(`CREDENTIALS_DATABASE_URL has no usable member_credential table (migrate it: npm run db:migrate): ${String(error)}`);
  }
  return db;
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, portInUseHint(error, "COMMAND_PORT") ?? "command service failed to start");
  process.exit(1);
});
