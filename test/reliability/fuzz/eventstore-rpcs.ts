// Fuzzes the embedded event store's gRPC surface (Streams and PersistentSubscriptions, methods
// taken from the client's generated service definitions) with raw malformed frames, then sends an
// oversized append through the official client. Reports every answer that is not an input status
// (oversized: not RESOURCE_EXHAUSTED); afterwards the store must still serve an append and a read.
import { createRequire } from "node:module";
import { binaryEvent, EventStoreDBClient, jsonEvent } from "@eventstore/db-client";
import fc from "fast-check";
import { startEventStore } from "../../../services/eventstore/server";
import { INPUT_CODES } from "./product-rpcs";
import { malformedProtobuf } from "./targets";
import { grpcFrame, WireClient } from "./wire";

const require = createRequire(import.meta.url);
type GrpcServiceDefinition = Record<string, { path: string }>;
/** Over the store's 16 MiB receive limit (services/eventstore/server.ts). */
const OVERSIZED_EVENT_BYTES = 17 * 1024 * 1024;

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
      // A message over the store's receive limit, sent in full by the official client: RESOURCE_EXHAUSTED,
      // and the same client's connection keeps working.
      const oversized = await client
        .appendToStream("fuzz-oversized", binaryEvent({ type: "TooBig", data: new Uint8Array(OVERSIZED_EVENT_BYTES) }))
        .then(() => ({ code: 0, message: "accepted" }), (error: { code?: number; message?: string }) => ({ code: error.code ?? -1, message: String(error.message) }));
      report.inputsTried++;
      report.codes[oversized.code] = (report.codes[oversized.code] ?? 0) + 1;
      if (oversized.code !== 8) report.offenders.push(`Append [oversized, ${OVERSIZED_EVENT_BYTES} bytes] → ${oversized.code} ${oversized.message}, expected RESOURCE_EXHAUSTED`);
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
