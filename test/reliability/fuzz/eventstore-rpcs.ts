// Fuzzes the embedded event store's gRPC surface (Streams and PersistentSubscriptions, methods
// taken from the client's generated service definitions) with raw malformed frames. Reports every
// answer that is not an input status; afterwards the store must still serve an append and a read.
import { createRequire } from "node:module";
import { EventStoreDBClient, jsonEvent } from "@eventstore/db-client";
import fc from "fast-check";
import { startEventStore } from "../../../services/eventstore/server";
import { INPUT_CODES } from "./product-rpcs";
import { malformedProtobuf } from "./targets";
import { grpcFrame, WireClient } from "./wire";

const require = createRequire(import.meta.url);
type GrpcServiceDefinition = Record<string, { path: string }>;

export function eventStorePaths(): string[] {
  const streams = require("@eventstore/db-client/generated/streams_grpc_pb").StreamsService as GrpcServiceDefinition;
  const persistent = require("@eventstore/db-client/generated/persistent_grpc_pb").PersistentSubscriptionsService as GrpcServiceDefinition;
  return [...Object.values(streams), ...Object.values(persistent)].map((method) => method.path);
}

export interface EventStoreFuzzReport {
  paths: string[];
  inputsTried: number;
  offenders: string[];
  codes: Record<number, number>;
  servesAfter: boolean;
}

export async function fuzzEventStore(options: { runsPerPath: number; seed: number }): Promise<EventStoreFuzzReport> {
  const store = await startEventStore({ host: "127.0.0.1", port: 0, inMemory: true });
  const wire = new WireClient(`http://127.0.0.1:${store.port}`);
  const report: EventStoreFuzzReport = { paths: eventStorePaths(), inputsTried: 0, offenders: [], codes: {}, servesAfter: false };
  try {
    for (const path of report.paths) {
      await fc.assert(
        fc.asyncProperty(malformedProtobuf, async (bytes) => {
          const answer = await wire.grpc(path, grpcFrame(bytes));
          report.inputsTried++;
          report.codes[answer.code] = (report.codes[answer.code] ?? 0) + 1;
          if (!INPUT_CODES.has(answer.code)) report.offenders.push(`${path} → ${answer.code} ${answer.message}`);
        }),
        { numRuns: options.runsPerPath, seed: options.seed },
      );
    }
    const client = EventStoreDBClient.connectionString(store.connectionString);
    try {
      await client.appendToStream("fuzz-after", jsonEvent({ type: "FuzzSurvived", data: { ok: true } }));
      let read = 0;
      for await (const _ of client.readStream("fuzz-after")) read++;
      report.servesAfter = read === 1;
    } finally {
      await Promise.race([client.dispose(), new Promise((resolve) => setTimeout(resolve, 5_000))]);
    }
    return report;
  } finally {
    wire.close();
    await store.stop();
  }
}
