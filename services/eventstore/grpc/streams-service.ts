// The Streams service: the client's own service definition, bound to the log.
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EventLog } from "../log";
import { appendHandler, batchAppendHandler } from "./append";
import { deleteHandler, tombstoneHandler } from "./delete";
import { streamsGrpc } from "./proto";
import { readHandler } from "./read";
import { SubscriptionRegistry } from "./subscription";

export function streamsService(log: EventLog) {
  const subscriptions = new SubscriptionRegistry();
  const implementation: UntypedServiceImplementation = {
    read: readHandler(log, subscriptions),
    append: appendHandler(log),
    batchAppend: batchAppendHandler(log),
    delete: deleteHandler(log),
    tombstone: tombstoneHandler(log),
  };
  return {
    definition: streamsGrpc.StreamsService,
    implementation,
    /** Ends live subscriptions so that the server can shut down. */
    close: () => subscriptions.closeAll(),
  };
}
