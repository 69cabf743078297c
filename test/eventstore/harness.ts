// Connects the conformance suite to a store. By default it starts the embedded store
// in memory on a free port; with EVENTMALL_CONFORMANCE_ESDB set to a connection string
// (e.g. esdb://127.0.0.1:2113?tls=false) the same tests run against that server instead.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EventStoreDBClient } from "@eventstore/db-client";
import { startEventStore, type RunningEventStore, type StartEventStoreOptions } from "../../services/eventstore/server";

export interface StoreUnderTest {
  client: EventStoreDBClient;
  connectionString: string;
  /** The embedded server when it is the one under test (undefined against a real server). */
  embedded?: RunningEventStore;
  close(): Promise<void>;
}

/** `logger` receives what the embedded store logs (ignored against a real server). */
export async function openStore(options: Pick<StartEventStoreOptions, "logger"> = {}): Promise<StoreUnderTest> {
  const external = process.env.EVENTMALL_CONFORMANCE_ESDB;
  if (external) {
    const client = EventStoreDBClient.connectionString(external);
    return { client, connectionString: external, close: () => client.dispose() };
  }
  // EVENTMALL_CONFORMANCE_DISK=1 runs the embedded store on a temporary file (acknowledgements then wait for fsync).
  const onDisk = process.env.EVENTMALL_CONFORMANCE_DISK === "1";
  const dir = onDisk ? mkdtempSync(path.join(tmpdir(), "eventstore-conformance-")) : undefined;
  const embedded = await startEventStore(
    dir ? { ...options, host: "127.0.0.1", port: 0, dataFile: path.join(dir, "store.db") } : { ...options, host: "127.0.0.1", port: 0, inMemory: true },
  );
  const client = EventStoreDBClient.connectionString(embedded.connectionString);
  return {
    client,
    connectionString: embedded.connectionString,
    embedded,
    async close() {
      await client.dispose();
      await embedded.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A stream name no other test (or earlier run against a real server) uses. */
export function uniqueStream(prefix = "test"): string {
  return `${prefix}-${randomUUID().replaceAll("-", "")}`;
}
