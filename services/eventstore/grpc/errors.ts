// Errors the way EventStoreDB sends them: a gRPC status plus trailers the client turns into typed
// errors (`exception` names the kind; the other keys carry its details).
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import type { ExpectedRevision } from "../log";
import { STORAGE_FULL_MESSAGE, isStorageFull } from "../storage-full";

export function rpcError(code: status, details: string, trailers: Record<string, string> = {}): ServiceError {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return Object.assign(new Error(details), { code, details, metadata });
}

/** EventStoreDB's numeric encoding of an expected version in trailers. */
export function expectedVersionNumber(expected: ExpectedRevision): string {
  switch (expected.kind) {
    case "any":
      return "-2";
    case "no_stream":
      return "-1";
    case "stream_exists":
      return "-4";
    case "exact":
      return expected.revision.toString();
  }
}

export function wrongExpectedVersion(streamName: string, expected: ExpectedRevision, actual: bigint | null): ServiceError {
  const actualText = actual === null ? "-1" : actual.toString();
  return rpcError(
    status.FAILED_PRECONDITION,
    `Append failed due to WrongExpectedVersion. Stream: ${streamName}, Expected version: ${expectedVersionNumber(expected)}, Actual version: ${actualText}`,
    {
      exception: "wrong-expected-version",
      "stream-name": streamName,
      "expected-version": expectedVersionNumber(expected),
      "actual-version": actualText,
    },
  );
}

export function streamDeleted(streamName: string): ServiceError {
  return rpcError(status.FAILED_PRECONDITION, `Event stream '${streamName}' is deleted.`, {
    exception: "stream-deleted",
    "stream-name": streamName,
  });
}

export function maximumAppendSizeExceeded(maxAppendSize: number): ServiceError {
  return rpcError(status.INVALID_ARGUMENT, `Maximum Append Size of ${maxAppendSize} Exceeded.`, {
    exception: "maximum-append-size-exceeded",
    "maximum-append-size": String(maxAppendSize),
  });
}

export function missingRequiredMetadata(): ServiceError {
  return rpcError(status.INVALID_ARGUMENT, "Required Metadata Properties Missing: type, content-type", {
    exception: "missing-required-metadata-property",
    "required-metadata-properties": "type,content-type",
  });
}

export function invalidArgument(details: string): ServiceError {
  return rpcError(status.INVALID_ARGUMENT, details);
}

/** Thrown while decoding a request; the handler turns it into INVALID_ARGUMENT. */
export class BadRequest extends Error {}

/** The disk is full: the server lacks a resource, the request is fine (retry later). */
export function storageFull(): ServiceError {
  return rpcError(status.RESOURCE_EXHAUSTED, STORAGE_FULL_MESSAGE);
}

export function toServiceError(error: unknown): ServiceError {
  if (error instanceof BadRequest) return invalidArgument(error.message);
  if (isStorageFull(error)) return storageFull();
  if (error && typeof error === "object" && "code" in error && "metadata" in error) return error as ServiceError;
  return rpcError(status.INTERNAL, error instanceof Error ? error.message : String(error));
}
