// Publisher process (npm run service:publisher): integration events from $all to NATS JetStream.
// Replicas are welcome: one holds the leader lease and publishes, the others stand by.
import { randomBytes } from "node:crypto";
import os from "node:os";
import pino from "pino";
import { loadConfig, type Config } from "../../src/kernel/process/config";
import { createEventStoreClient } from "../../src/kernel/write/event-store";
import { serveMetricsIfConfigured } from "../../src/kernel/process/metrics";
import { openBroker, PublisherConfigurationError, validateBrokerSettings, type BrokerSettings } from "../../src/kernel/publisher/broker";
import { startPublisher } from "../../src/kernel/publisher/publisher";
import { publisherMetrics, readPublisherStatus } from "../../src/kernel/publisher/status";
import { stopOnSignals } from "../../src/kernel/process/shutdown";
import { integrationMappings } from "./mappings";

const log = pino({ name: "publisher", level: process.env.LOG_LEVEL || "info" });

/** A setting the publisher cannot run with: say which, once, and exit (no restart can fix it). */
function refuse(message: string): never {
  log.fatal(`publisher configuration error: ${message}`);
  process.exit(78); // EX_CONFIG
}

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  refuse(error instanceof Error ? error.message : String(error));
}
const settings: BrokerSettings = { url: config.publisher.natsUrl, ...config.publisher };
if (settings.url === "") refuse("NATS_URL is not set: there is no broker to publish to");
try {
  validateBrokerSettings(settings);
} catch (error) {
  refuse(error instanceof Error ? error.message : String(error));
}
const owner = `${os.hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
log.info({ nats: settings.url, stream: settings.stream, subjects: `${settings.subjectPrefix}.>`, owner }, "publisher configured");

let broker;
try {
  broker = await openBroker(settings, `eventmall-publisher ${owner}`);
} catch (error) {
  if (error instanceof PublisherConfigurationError) refuse(error.message);
  throw error;
}
const client = createEventStoreClient(config);
const metrics = await serveMetricsIfConfigured("publisher", config.metricsPort.publisher, config.host);
if (metrics.server) log.info({ url: metrics.server.url }, "metrics endpoint listening");
const observer = publisherMetrics(metrics.registry, () => readPublisherStatus(client, broker, integrationMappings));
const publisher = startPublisher({
  client,
  broker,
  stream: settings.stream,
  subjectPrefix: settings.subjectPrefix,
  mappings: integrationMappings,
  owner,
  leaseMs: config.publisher.leaseMs,
  maxInFlight: Math.max(1, config.publisher.maxInFlight),
  publishTimeoutMs: 5_000,
  maxRetries: Math.max(1, config.publisher.maxRetries),
  retryBaseMs: config.publisher.retryBaseMs,
  maxBackoffMs: 10_000,
  checkpointEveryMs: Math.max(10, config.publisher.checkpointEveryMs),
  logger: log,
  observer,
});
log.info({ contexts: integrationMappings.map((m) => m.context) }, "publisher started");

stopOnSignals(
  log,
  async () => {
    await publisher.stop();
    await metrics.server?.close();
    await broker.close();
    await client.dispose();
  },
  { exitWhenDone: true },
);
