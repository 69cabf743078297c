// Errors as EventStoreDB sends them: a gRPC status plus `exception` trailers the client
// turns into typed errors (it reads `stream-name` and `group-name` from the same trailers).
import * as grpc from "@grpc/grpc-js";

export interface RpcError {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
}

function rpcError(code: grpc.status, details: string, trailers: Record<string, string> = {}): RpcError {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return { code, details, metadata };
}

export function isRpcError(value: unknown): value is RpcError {
  return typeof value === "object" && value !== null && "code" in value && "metadata" in value && "details" in value;
}

export const subscriptionExists = (stream: string, group: string) =>
  rpcError(grpc.status.ALREADY_EXISTS, `Subscription group ${group} on stream ${stream} exists.`, {
    exception: "persistent-subscription-exists",
    "stream-name": stream,
    "group-name": group,
  });

export const subscriptionDoesNotExist = (stream: string, group: string) =>
  rpcError(grpc.status.NOT_FOUND, `Subscription group ${group} on stream ${stream} does not exist.`, {
    exception: "persistent-subscription-does-not-exist",
    "stream-name": stream,
    "group-name": group,
  });

export const maximumSubscribersReached = (stream: string, group: string) =>
  rpcError(
    grpc.status.FAILED_PRECONDITION,
    `Maximum subscriptions reached for subscription group ${group} on stream ${stream}.`,
    { exception: "maximum-subscribers-reached", "stream-name": stream, "group-name": group },
  );

export const subscriptionDropped = (stream: string, group: string) =>
  rpcError(grpc.status.CANCELLED, `Subscription group ${group} on stream ${stream} was dropped.`, {
    exception: "persistent-subscription-dropped",
    "stream-name": stream,
    "group-name": group,
  });

export const subscriptionFailed = (stream: string, group: string, reason: string) =>
  rpcError(grpc.status.INTERNAL, `Subscription group ${group} on stream ${stream} failed: '${reason}'`, {
    exception: "persistent-subscription-failed",
    "stream-name": stream,
    "group-name": group,
    reason,
  });

export const invalidArgument = (message: string) => rpcError(grpc.status.INVALID_ARGUMENT, message);

export const internalError = (message: string) => rpcError(grpc.status.INTERNAL, message);

/** Anything thrown inside a handler becomes a status: typed errors pass, the rest is INTERNAL. */
export function toRpcError(error: unknown): RpcError {
  if (isRpcError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return internalError(`Persistent subscription request failed: ${message}`);
}
