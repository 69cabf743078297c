// The skeleton of every command RPC, written once: who may call (authorize), every bad field at
// once (validate: one INVALID_ARGUMENT), the correlation id in (x-correlation-id into the events'
// metadata) and back out on the response header, repository.handle with the caller's expected
// revision, and what that throws mapped to a gRPC status (commandErrorToStatus). A context's
// handler keeps only what is its own: building the command, and any step between validation and
// the write (an ownership check, prices from a read model, rows written beside the append).
//
// Where request validation lives: field rules (a request's fields on their own: present, length,
// format, range) are written once per aggregate, next to its decider (`<aggregate>CommandViolations`,
// or a context's rules.ts the decider imports), as pure functions returning every broken rule with
// the field named as in the contract; never in a handler. The handler hands the aggregate's rules
// to this helper (`fieldRules`), which applies them in execute before the write; a handler that
// reads first (to check ownership, to price) calls validate before that read. decide() applies the
// same rules again as a guard for callers that do not come through a handler (process managers,
// tests). Fields that never reach the command (an id in a request, a password) are checked with
// the shared helpers of kernel/grpc/fields.ts and reported with the command's (`requestViolations`).
// The decider keeps the business rules: whatever needs the aggregate's state (whether it exists,
// what it holds, its status).
import type { Message } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { authenticate, requireRole, type Caller, type TokenService } from "../auth/auth";
import { invalidArgument, type FieldViolation } from "../grpc/errors";
import { commandErrorToStatus, type ErrorLogger } from "./command-errors";
import type { EventMetadata } from "./event-codec";
import { CORRELATION_HEADER, requestMetadata } from "./metadata";
import type { AggregateRepository, HandleResult } from "./repository";

export interface CommandHandlerDependencies<State, Command, Event extends Message> {
  repository: AggregateRepository<State, Command, Event>;
  tokens: TokenService;
  logger: ErrorLogger;
  /** The aggregate's field rules (its decider module's `…CommandViolations`); none when absent. */
  fieldRules?: (command: Command) => FieldViolation[];
}

export interface CommandCall<State, Command, Event> {
  /** The aggregate's id: the stream the command is decided on. */
  id: string;
  command: Command;
  /** The revision the caller read; a stream elsewhere is ABORTED (optimistic concurrency). */
  expectedRevision?: bigint;
  /** Violations of request fields that are not the command's (ids, a password), reported first. */
  requestViolations?: readonly (FieldViolation | undefined)[];
  /** Lead of the INVALID_ARGUMENT message, e.g. "invalid CreateProduct request". */
  invalidMessage?: string;
  /** Work around the append (it must call repository.handle itself); defaults to the append alone. */
  write?: (metadata: EventMetadata) => Promise<HandleResult<State, Event>>;
}

export interface CommandHandler<State, Command, Event> {
  /** The verified caller; with a role, PERMISSION_DENIED unless the caller holds it. */
  authorize(context: HandlerContext, role?: string): Promise<Caller>;
  /** Throws one INVALID_ARGUMENT naming every violation; returns when there is none. */
  validate(violations: readonly (FieldViolation | undefined)[], message?: string): void;
  /** The metadata of the events this request writes; echoes the correlation id on the response. */
  metadata(context: HandlerContext): EventMetadata;
  /** Runs store work, turning what it throws into the status a client should see. */
  guarded<T>(work: () => Promise<T>): Promise<T>;
  /** validate → metadata → write (repository.handle) under guarded. Authorize first. */
  execute(context: HandlerContext, call: CommandCall<State, Command, Event>): Promise<HandleResult<State, Event>>;
}

export function commandHandler<State, Command, Event extends Message>(
  deps: CommandHandlerDependencies<State, Command, Event>,
): CommandHandler<State, Command, Event> {
  const handler: CommandHandler<State, Command, Event> = {
    async authorize(context, role) {
      const caller = await authenticate(context, deps.tokens);
      if (role !== undefined) requireRole(caller, role);
      return caller;
    },

    validate(violations, message) {
      const found = violations.filter((violation): violation is FieldViolation => violation !== undefined);
      if (found.length > 0) throw invalidArgument(found, message);
    },

    metadata(context) {
      const metadata = requestMetadata(context.requestHeader);
      context.responseHeader.set(CORRELATION_HEADER, metadata.correlationId);
      return metadata;
    },

    async guarded(work) {
      try {
        return await work();
      } catch (error) {
        throw commandErrorToStatus(error, deps.logger);
      }
    },

    async execute(context, call) {
      handler.validate([...(call.requestViolations ?? []), ...(deps.fieldRules?.(call.command) ?? [])], call.invalidMessage);
      const metadata = handler.metadata(context);
      const write = call.write ?? (() => deps.repository.handle(call.id, call.command, { metadata, expectedRevision: call.expectedRevision }));
      return handler.guarded(() => write(metadata));
    },
  };
  return handler;
}
