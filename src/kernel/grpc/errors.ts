// Constructors for the gRPC errors handlers return, each with the google.rpc detail a client
// can decode, and the interceptor that keeps handler bugs from leaking or crashing the process.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { MessageShape, DescMessage } from "@bufbuild/protobuf";
import { BadRequestSchema, ErrorInfoSchema, PreconditionFailureSchema } from "../../../gen/google/rpc/error_details_pb";
import { RevisionConflictSchema } from "../../../gen/eventmall/common/v1/command_pb";
import { isInfrastructureError } from "../process/infrastructure-errors";

/** ErrorInfo.domain of every error this project raises. */
export const ERROR_DOMAIN = "eventmall";

export interface FieldViolation {
  field: string;
  description: string;
}

/**
 * The message names every bad field too (not only the BadRequest detail): grpcurl and curl users
 * see the message alone. `message` is an optional lead, e.g. "invalid PlaceOrder request".
 */
export function invalidArgument(violations: FieldViolation[], message?: string): ConnectError {
  const fields = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  const summary = [message, fields].filter((part) => part).join(": ");
  return new ConnectError(summary || "invalid argument", Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: { fieldViolations: violations } },
  ]);
}

/** reason is a machine-readable UPPER_SNAKE_CASE word (e.g. "INSUFFICIENT_INVENTORY"). */
export function failedPrecondition(message: string, reason = "FAILED_PRECONDITION", subject = ""): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition, undefined, [
    { desc: ErrorInfoSchema, value: { reason, domain: ERROR_DOMAIN } },
    { desc: PreconditionFailureSchema, value: { violations: [{ type: reason, subject, description: message }] } },
  ]);
}

export interface RevisionConflictInit {
  streamName: string;
  expectedRevision: bigint | number;
  /** Absent when the stream does not exist. */
  actualRevision?: bigint | number;
}

export function aborted(message: string, conflict: RevisionConflictInit): ConnectError {
  return new ConnectError(message, Code.Aborted, undefined, [
    {
      desc: RevisionConflictSchema,
      value: {
        streamName: conflict.streamName,
        expectedRevision: BigInt(conflict.expectedRevision),
        actualRevision: conflict.actualRevision === undefined ? undefined : BigInt(conflict.actualRevision),
      },
    },
  ]);
}

function withReason(code: Code, message: string, reason?: string): ConnectError {
  const details = reason ? [{ desc: ErrorInfoSchema, value: { reason, domain: ERROR_DOMAIN } }] : undefined;
  return new ConnectError(message, code, undefined, details);
}

export const notFound = (message: string, reason?: string) => withReason(Code.NotFound, message, reason);
export const alreadyExists = (message: string, reason?: string) => withReason(Code.AlreadyExists, message, reason);
export const permissionDenied = (message: string, reason?: string) => withReason(Code.PermissionDenied, message, reason);
export const unauthenticated = (message: string, reason?: string) => withReason(Code.Unauthenticated, message, reason);
export const unavailable = (message: string, reason?: string) => withReason(Code.Unavailable, message, reason);
export const resourceExhausted = (message: string, reason?: string) =>
  withReason(Code.ResourceExhausted, message, reason);

/** Reads one typed detail off an error a client received (undefined when absent). */
export function findDetail<D extends DescMessage>(error: unknown, desc: D): MessageShape<D> | undefined {
  return ConnectError.from(error).findDetails(desc)[0];
}

export interface ErrorLogger {
  error(details: object, message: string): void;
  debug?(details: object, message: string): void;
}

/** A client that hangs up mid-call (grpcurl after its reflection answers) ends the request stream early. */
function clientWentAway(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error instanceof Error && (error as NodeJS.ErrnoException).code === "ERR_STREAM_PREMATURE_CLOSE");
}

/**
 * Anything a handler throws that is not a ConnectError is a bug: log it with the method, and answer
 * INTERNAL with a generic message so no stack, SQL or path reaches the client. A client that went
 * away is no bug: that is logged at debug.
 */
export function internalErrorInterceptor(logger: ErrorLogger): Interceptor {
  const conceal = (error: unknown, procedure: string, signal: AbortSignal): ConnectError => {
    if (error instanceof ConnectError) return error;
    if (clientWentAway(error, signal)) {
      logger.debug?.({ err: error, procedure }, "client went away mid-call");
      return new ConnectError("client went away", Code.Canceled);
    }
    if (isInfrastructureError(error)) {
      // Not a bug: a database or store that is down, restarting or locked. Retryable.
      logger.error({ err: error, procedure }, "dependency unavailable");
      return unavailable("a database this service reads is unavailable; retry later", "DEPENDENCY_UNAVAILABLE");
    }
    logger.error({ err: error, procedure }, "unhandled error in handler");
    return new ConnectError("internal error", Code.Internal);
  };
  return (next) => async (request) => {
    const procedure = `${request.service.typeName}/${request.method.name}`;
    let response;
    try {
      response = await next(request);
    } catch (error) {
      throw conceal(error, procedure, request.signal);
    }
    if (!response.stream) return response;
    const messages = response.message;
    return {
      ...response,
      message: (async function* () {
        try {
          yield* messages;
        } catch (error) {
          throw conceal(error, procedure, request.signal);
        }
      })(),
    };
  };
}
