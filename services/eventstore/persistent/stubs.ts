// The official client's own generated gRPC definitions and message classes. Serving with
// exactly these guarantees wire compatibility with @eventstore/db-client (the generated
// serializers check `instanceof`, so every message must come from these same modules).
import { createRequire } from "node:module";
import type * as grpc from "@grpc/grpc-js";

const require = createRequire(import.meta.url);

export const persistentPb: typeof import("@eventstore/db-client/generated/persistent_pb") = require(
  "@eventstore/db-client/generated/persistent_pb",
);
export const sharedPb: typeof import("@eventstore/db-client/generated/shared_pb") = require(
  "@eventstore/db-client/generated/shared_pb",
);
const persistentGrpc = require("@eventstore/db-client/generated/persistent_grpc_pb") as {
  PersistentSubscriptionsService: grpc.ServiceDefinition;
};

export const PersistentSubscriptionsService = persistentGrpc.PersistentSubscriptionsService;

export type CreateReq = import("@eventstore/db-client/generated/persistent_pb").CreateReq;
export type UpdateReq = import("@eventstore/db-client/generated/persistent_pb").UpdateReq;
export type DeleteReq = import("@eventstore/db-client/generated/persistent_pb").DeleteReq;
export type ReadReq = import("@eventstore/db-client/generated/persistent_pb").ReadReq;
export type ReadResp = import("@eventstore/db-client/generated/persistent_pb").ReadResp;
export type GetInfoReq = import("@eventstore/db-client/generated/persistent_pb").GetInfoReq;
export type ListReq = import("@eventstore/db-client/generated/persistent_pb").ListReq;
export type ReplayParkedReq = import("@eventstore/db-client/generated/persistent_pb").ReplayParkedReq;
export type SubscriptionInfo = import("@eventstore/db-client/generated/persistent_pb").SubscriptionInfo;
export type StreamIdentifier = import("@eventstore/db-client/generated/shared_pb").StreamIdentifier;

/** Decodes a StreamIdentifier's bytes as UTF-8 (the client sends the name as bytes). */
export function streamNameOf(identifier: StreamIdentifier | undefined): string {
  if (!identifier) return "";
  return Buffer.from(identifier.getStreamName_asU8()).toString("utf8");
}
