// Projector process (npm run service:projector): keeps the read database up to date from $all.
import pino from "pino";
import { loadConfig } from "../../src/kernel/process/config";
import { createEventStoreClient } from "../../src/kernel/write/event-store";
import { projectionHealthObserver } from "../../src/kernel/grpc/health";
import { startGrpcServer } from "../../src/kernel/grpc/server";
import { observeAll, projectionMetrics, serveMetricsIfConfigured } from "../../src/kernel/process/metrics";
import { ProjectionStatusRecorder } from "../../src/kernel/read/projection-status";
import { startProjector } from "../../src/kernel/read/projector";
import { openReadDb } from "../../src/kernel/read/read-db";
import { projections, reactors } from "./projections";
import { stopOnSignals } from "../../src/kernel/process/shutdown";

const config = loadConfig();
const log = pino({ name: "projector", level: config.logLevel });
const db = await openReadDb(config.readDatabaseUrl);
const client = createEventStoreClient(config);
// Reactors append through the repository with the command side's settings.
const repositoryOptions = { snapshotEvery: config.command.snapshotEvery, maxConflictRetries: config.command.maxConflictRetries, logger: log };
const processManagers = reactors({ client, ...repositoryOptions });
const metrics = await serveMetricsIfConfigured("projector", config.metricsPort.projector, config.host);
if (metrics.server) log.info({ url: metrics.server.url }, "metrics endpoint listening");
const statusRecorder = new ProjectionStatusRecorder(db, log);
// For orchestrators' probes (scripts/healthcheck.ts): grpc.health.v1 only, no projector API; one
// entry per projection ("eventmall.projection.<name>") besides the process's own.
const health =
  config.projector.healthPort === undefined
    ? undefined
    : await startGrpcServer({ name: "projector", host: config.host, port: config.projector.healthPort, services: [], logger: log });
const observers = [statusRecorder, projectionMetrics({ registry: metrics.registry, db, client, projections })];
if (health) observers.push(projectionHealthObserver(health.health, [...projections, ...processManagers].map((p) => p.name)));
const projector = startProjector({
  client,
  db,
  projections,
  reactors: processManagers,
  logger: log,
  maxRetries: config.projector.maxRetries,
  retryBaseMs: config.projector.retryBaseMs,
  observer: observeAll(...observers),
});
log.info({ projections: projections.map((p) => p.name), reactors: processManagers.map((r) => r.name) }, "projector started");
if (health) log.info({ url: health.url }, "projector health listening");

stopOnSignals(log, async () => {
  await health?.close();
  await projector.stop();
  await statusRecorder.close();
  await metrics.server?.close();
  await client.dispose();
  await db.$disconnect();
});
