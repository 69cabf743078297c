// Query service process (npm run service:query): serves reads from the read database.
import pino from "pino";
import { createTokenService, refusingRevoked } from "../../src/kernel/auth/auth";
import { loadConfig } from "../../src/kernel/process/config";
import { createEventStoreClient } from "../../src/kernel/write/event-store";
import { serveMetricsIfConfigured } from "../../src/kernel/process/metrics";
import { openReadDb } from "../../src/kernel/read/read-db";
import { startWithdrawnMemberRevocations } from "../../src/member/revocation";
import { startQueryServer } from "./server";
import { stopOnSignals } from "../../src/kernel/process/shutdown";
import { portInUseHint } from "../../src/kernel/process/port-in-use";

const config = loadConfig();
const log = pino({ name: "query", level: config.logLevel });
const db = await openReadDb(config.readDatabaseUrl);
const eventStore = createEventStoreClient(config);
const metrics = await serveMetricsIfConfigured("query", config.metricsPort.query, config.host);
if (metrics.server) log.info({ url: metrics.server.url }, "metrics endpoint listening");
// Before serving: a withdrawn member's still-valid token must already be refused ("my orders" too).
const revoked = await startWithdrawnMemberRevocations(eventStore, log);
const server = await startQueryServer({
  eventStore,
  readYourWritesTimeoutMs: config.query.readYourWritesTimeoutMs,
  db,
  tokens: refusingRevoked(createTokenService(config), revoked),
  contexts: config.query.contexts,
  host: config.host,
  port: config.query.port,
  logger: log,
  tls: config.grpcTls,
}).catch((error: unknown) => {
  log.fatal({ err: error }, portInUseHint(error, "QUERY_PORT") ?? "query service failed to start");
  process.exit(1);
});
log.info({ url: server.url }, "query service listening");

stopOnSignals(log, async () => {
  await server.close();
  await revoked.close();
  await metrics.server?.close();
  await eventStore.dispose();
  await db.$disconnect();
});
