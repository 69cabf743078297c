// ServerFeatures.GetSupportedMethods, built from the services actually registered. The client reads
// it once per connection: without it, it assumes an old server (no BatchAppend, no $all persistent
// subscriptions, persistent-subscription management over HTTP).
import type { ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { serverFeaturesGrpc, serverFeaturesPb } from "./proto";

/** The EventStoreDB version whose behaviour this server reproduces. */
export const EMULATED_SERVER_VERSION = "24.10.0";

export interface RegisteredService {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
  /** Features advertised per method, keyed by the definition's method key (e.g. "create"), as EventStoreDB reports them. */
  features?: Record<string, string[]>;
  /** Called on server stop before the gRPC server shuts down (end long-lived calls here). */
  close?(): void | Promise<void>;
}

export function supportedMethods(services: RegisteredService[]) {
  const methods = [];
  for (const service of services) {
    for (const [key, method] of Object.entries(service.definition)) {
      const [, serviceName = "", methodName = ""] = /^\/([^/]+)\/([^/]+)$/.exec(method.path) ?? [];
      methods.push(
        new serverFeaturesPb.SupportedMethod()
          .setServiceName(serviceName.toLowerCase())
          .setMethodName(methodName.toLowerCase())
          .setFeaturesList(service.features?.[key] ?? []),
      );
    }
  }
  return new serverFeaturesPb.SupportedMethods().setMethodsList(methods).setEventStoreServerVersion(EMULATED_SERVER_VERSION);
}

/** The ServerFeatures service itself; it lists every service in `services` (read at call time) and itself. */
export function serverFeaturesService(services: RegisteredService[]): RegisteredService {
  const self: RegisteredService = {
    definition: serverFeaturesGrpc.ServerFeaturesService,
    implementation: {
      getSupportedMethods: (_call: unknown, callback: (error: null, value: unknown) => void) => {
        callback(null, supportedMethods(services));
      },
    },
  };
  return self;
}
