// One line on the publisher for operator tools (npm run publisher -- status, npm run projections -- status).
import type { EventStoreDBClient } from "@eventstore/db-client";
import type { Config } from "../../src/kernel/process/config";
import { openBroker } from "../../src/kernel/publisher/broker";
import { formatPublisherStatus, readPublisherStatus } from "../../src/kernel/publisher/status";
import { integrationMappings } from "./mappings";

export async function publisherStatusLine(config: Config, client: EventStoreDBClient): Promise<string> {
  if (config.publisher.natsUrl === "") return "publisher: off (NATS_URL is not set)";
  let broker;
  try {
    broker = await openBroker({ url: config.publisher.natsUrl, ...config.publisher }, "eventmall-status", { ensureStream: false, waitForBroker: false });
  } catch (error) {
    return `publisher: NATS at ${config.publisher.natsUrl} unreachable (${error instanceof Error ? error.message : String(error)})`;
  }
  try {
    return formatPublisherStatus(config.publisher.stream, await readPublisherStatus(client, broker, integrationMappings));
  } finally {
    await broker.close();
  }
}
