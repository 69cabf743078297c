// The one place a process creates its EventStoreDB client, so every process honours
// EVENTSTORE_CONNECTION_STRING the same way.
import { EventStoreDBClient } from "@eventstore/db-client";
import type { Config } from "../process/config";

export function createEventStoreClient(config: Pick<Config, "eventStore">): EventStoreDBClient {
  return EventStoreDBClient.connectionString(config.eventStore.connectionString);
}
