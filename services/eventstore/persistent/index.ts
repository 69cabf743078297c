// Persistent subscriptions as one of the embedded store's registered gRPC services.
import type * as grpc from "@grpc/grpc-js";
import type { RegisteredService } from "../grpc/server-features";
import type { EventLog } from "../log";
import type { GroupLogger } from "./group";
import { persistentSubscriptionsHandlers } from "./service";
import { PersistentSubscriptionsService } from "./stubs";
import { PersistentSubscriptionSubsystem } from "./subsystem";

/** Advertised per method as EventStoreDB does; without "all" the client refuses $all groups. */
const FEATURES: Record<string, string[]> = {
  create: ["stream", "all"],
  update: ["stream", "all"],
  delete: ["stream", "all"],
  read: ["stream", "all"],
  getInfo: ["stream", "all"],
  replayParked: ["stream", "all"],
  list: ["stream", "all"],
  restartSubsystem: [],
};

/** The client's definition, except that Read also accepts responses already encoded (read-encoding.ts). */
const READ_PASSES_ENCODED_EVENTS: grpc.ServiceDefinition = (() => {
  const read = PersistentSubscriptionsService.read!;
  const serialize = read.responseSerialize;
  return {
    ...PersistentSubscriptionsService,
    read: { ...read, responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)) },
  };
})();

const consoleLogger: GroupLogger = {
  error: (message, error) => console.error(`[persistent-subscriptions] ${message}`, error ?? ""),
};

/** Starts every group whose config is in the log; close() drops consumers and stops the groups. */
export function persistentSubscriptionsService(log: EventLog, logger: GroupLogger = consoleLogger): RegisteredService {
  const subsystem = new PersistentSubscriptionSubsystem(log, logger);
  subsystem.start();
  return {
    definition: READ_PASSES_ENCODED_EVENTS,
    implementation: persistentSubscriptionsHandlers(subsystem),
    features: FEATURES,
    close: () => subsystem.close(),
  };
}
