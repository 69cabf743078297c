// Turns what a command handler can throw into the gRPC status a client should see.
import { Code, ConnectError } from "@connectrpc/connect";
import { MaxAppendSizeExceededError, UnavailableError } from "@eventstore/db-client";
import { DomainRuleViolation } from "./decider";
import { isInfrastructureError } from "../process/infrastructure-errors";
import { RevisionConflictError } from "./repository";
import {
  aborted,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  resourceExhausted,
  unavailable,
} from "../grpc/errors";

export interface ErrorLogger {
  error(details: object, message: string): void;
}

export function commandErrorToStatus(error: unknown, logger: ErrorLogger): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof DomainRuleViolation) {
    switch (error.kind) {
      case "invalid_argument":
        return invalidArgument([...error.fieldViolations], error.message);
      case "failed_precondition":
        return failedPrecondition(error.message, error.reason);
      case "not_found":
        return notFound(error.message);
      case "already_exists":
        return alreadyExists(error.message);
    }
  }
  if (error instanceof RevisionConflictError) {
    return aborted(error.message, {
      streamName: error.streamName,
      // A command that expected no stream has no revision to report; 0 is the proto default.
      expectedRevision: error.expectedRevision ?? 0n,
      actualRevision: error.actualRevision,
    });
  }
  if (error instanceof MaxAppendSizeExceededError) {
    // Same code gRPC itself uses for an oversized message.
    return resourceExhausted("the events of this request exceed the event store's append size limit", "APPEND_TOO_LARGE");
  }
  if (error instanceof UnavailableError || isInfrastructureError(error)) {
    logger.error({ err: error }, "event store or database unavailable");
    return unavailable("event store or database unavailable, retry later");
  }
  if (error instanceof Error && "code" in error && error.code === Code.ResourceExhausted) {
    // The store refused the write for lack of space (see services/eventstore): nothing was appended.
    logger.error({ err: error }, "event store out of space");
    return resourceExhausted("the event store is out of space; nothing was written, retry later", "STORE_FULL");
  }
  // Unexpected failures: log the details here, tell the client nothing internal.
  logger.error({ err: error }, "command failed unexpectedly");
  return new ConnectError("internal error", Code.Internal);
}
