// Connects the conformance suite to a store. By default it starts the embedded store
// in memory on a free port; with EVENTMALL_CONFORMANCE_ESDB set to a connection string
// (e.g. esdb://127.0.0.1:2113?tls=false) the same tests run against that server instead.
import { randomUUID } from "node:crypto";
import { EventStoreDBClient } from "@eventstore/db-client";
import { startEventStore, type RunningEventStore } from "../../services/eventstore/server";

export interface StoreUnderTest {
  client: EventStoreDBClient;
  connectionString: string;
  /** The embedded server when it is the one under test (undefined against a real server). */
  embedded?: RunningEventStore;
  close(): Promise<void>;
}

export async function openStore(): Promise<StoreUnderTest> {
  const external = process.env.EVENTMALL_CONFORMANCE_ESDB;
  if (external) {
    const client = EventStoreDBClient.connectionString(external);
    return { client, connectionString: external, close: () => client.dispose() };
  }
  const embedded = await startEventStore({ host: "127.0.0.1", port: 0, inMemory: true });
  const client = EventStoreDBClient.connectionString(embedded.connectionString);
  return {
    client,
    connectionString: embedded.connectionString,
    embedded,
    async close() {
      await client.dispose();
      await embedded.stop();
    },
  };
}

/** A stream name no other test (or earlier run against a real server) uses. */
export function uniqueStream(prefix = "test"): string {
  return `${prefix}-${randomUUID().replaceAll("-", "")}`;
}
