// The Streams service: the client's own service definition, bound to the log.
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EventLog } from "../log";
import { appendHandler, BatchAppendCalls, batchAppendHandler } from "./append";
import { deleteHandler, tombstoneHandler } from "./delete";
import { streamsGrpc } from "./proto";
import { readHandler } from "./read";
import { decodeBatchAppendReq } from "./batch-append-codec";
import { SubscriptionRegistry } from "./subscription";

export function streamsService(log: EventLog) {
  const subscriptions = new SubscriptionRegistry();
  const batchAppends = new BatchAppendCalls();
  const implementation: UntypedServiceImplementation = {
    read: readHandler(log, subscriptions),
    append: appendHandler(log),
    batchAppend: batchAppendHandler(log, batchAppends),
    delete: deleteHandler(log),
    tombstone: tombstoneHandler(log),
  };
  // The client's own definition; Read and BatchAppend additionally accept responses already encoded
  // (read-encoding.ts, framed-writes.ts).
  const definition = streamsGrpc.StreamsService;
  const passBytes = <T extends { responseSerialize: (value: never) => Buffer }>(method: T): T => ({
    ...method,
    responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : method.responseSerialize(value as never)),
  });
  const fastDefinition = {
    ...definition,
    read: passBytes(definition.read),
    // BatchAppend requests are decoded straight into plain values (batch-append-codec.ts).
    batchAppend: { ...passBytes(definition.batchAppend), requestDeserialize: decodeBatchAppendReq },
  };
  return {
    definition: fastDefinition as unknown as typeof definition,
    implementation,
    /** Ends live subscriptions and open BatchAppend calls so that the server can shut down. */
    close: () => {
      subscriptions.closeAll();
      batchAppends.endAll();
    },
  };
}
