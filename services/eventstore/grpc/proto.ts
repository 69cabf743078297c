// The official client's generated gRPC stubs (CommonJS, google-protobuf), loaded once. The server
// registers these exact service definitions, so client and server cannot disagree on the wire format.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export const streamsPb: typeof import("@eventstore/db-client/generated/streams_pb") = require("@eventstore/db-client/generated/streams_pb");
export const streamsGrpc: typeof import("@eventstore/db-client/generated/streams_grpc_pb") = require("@eventstore/db-client/generated/streams_grpc_pb");
export const sharedPb: typeof import("@eventstore/db-client/generated/shared_pb") = require("@eventstore/db-client/generated/shared_pb");
export const statusPb: typeof import("@eventstore/db-client/generated/status_pb") = require("@eventstore/db-client/generated/status_pb");
export const serverFeaturesPb: typeof import("@eventstore/db-client/generated/serverfeatures_pb") = require("@eventstore/db-client/generated/serverfeatures_pb");
export const serverFeaturesGrpc: typeof import("@eventstore/db-client/generated/serverfeatures_grpc_pb") = require("@eventstore/db-client/generated/serverfeatures_grpc_pb");
export const anyPb: typeof import("google-protobuf/google/protobuf/any_pb") = require("google-protobuf/google/protobuf/any_pb");
export const emptyPb: typeof import("google-protobuf/google/protobuf/empty_pb") = require("google-protobuf/google/protobuf/empty_pb");
export const gossipPb: typeof import("@eventstore/db-client/generated/gossip_pb") = require("@eventstore/db-client/generated/gossip_pb");
export const gossipGrpc: typeof import("@eventstore/db-client/generated/gossip_grpc_pb") = require("@eventstore/db-client/generated/gossip_grpc_pb");
export const projectionsPb: typeof import("@eventstore/db-client/generated/projections_pb") = require("@eventstore/db-client/generated/projections_pb");
export const projectionsGrpc: typeof import("@eventstore/db-client/generated/projections_grpc_pb") = require("@eventstore/db-client/generated/projections_grpc_pb");
