// Streams.Append (client stream: options, then events; one response) and Streams.BatchAppend
// (bidirectional; requests grouped by correlation id; errors in-band as google.rpc.Status).
import { status, type sendUnaryData, type ServerDuplexStream, type ServerReadableStream } from "@grpc/grpc-js";
import type { AppendOutcome, EventLog, ExpectedRevision, ProposedEvent } from "../log";
import {
  EXPECTED_CASES,
  expectedRevisionOf,
  proposedEvent,
  proposedSize,
  streamIdentifier,
  streamNameOf,
} from "./codec";
import { BadRequest, maximumAppendSizeExceeded, streamDeleted, toServiceError } from "./errors";
import { isStorageFull } from "../storage-full";
import { anyPb, emptyPb, sharedPb, statusPb, streamsPb } from "./proto";
import { ResponseBatch } from "./framed-writes";
import { type BatchAppendRequest, encodeBatchAppendSuccess } from "./batch-append-codec";

type AppendReq = InstanceType<typeof streamsPb.AppendReq>;
type AppendResp = InstanceType<typeof streamsPb.AppendResp>;
type BatchAppendResp = InstanceType<typeof streamsPb.BatchAppendResp>;

/** EventStoreDB's default --max-append-size. */
export const MAX_APPEND_SIZE = 1024 * 1024;

export function appendHandler(log: EventLog) {
  return (call: ServerReadableStream<AppendReq, AppendResp>, callback: sendUnaryData<AppendResp>) => {
    let streamName: string | undefined;
    let expected: ExpectedRevision | undefined;
    const events: ProposedEvent[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      callback(toServiceError(error));
    };
    call.on("data", (request: AppendReq) => {
      if (failed) return;
      try {
        if (request.hasOptions()) {
          if (streamName !== undefined) throw new BadRequest("Append options were sent twice.");
          const options = request.getOptions()!;
          streamName = streamNameOf(options.getStreamIdentifier());
          expected = expectedRevisionOf(options.getExpectedStreamRevisionCase(), () => options.getRevision(), EXPECTED_CASES);
        } else if (request.hasProposedMessage()) {
          if (streamName === undefined) throw new BadRequest("Append options must come first.");
          const event = proposedEvent(request.getProposedMessage()!);
          size += proposedSize(event);
          if (size > MAX_APPEND_SIZE) throw maximumAppendSizeExceeded(MAX_APPEND_SIZE);
          events.push(event);
        } else {
          throw new BadRequest("Empty append request.");
        }
      } catch (error) {
        fail(error);
      }
    });
    call.on("error", () => {
      failed = true;
    });
    call.on("end", () => {
      if (failed) return;
      if (streamName === undefined || expected === undefined) return fail(new BadRequest("Append options are required."));
      const name = streamName;
      const expectation = expected;
      log.append(name, expectation, events).then(
        (outcome) => {
          if (failed) return;
          if (!outcome.ok && outcome.reason === "stream_deleted") return fail(streamDeleted(name));
          callback(null, appendResponse(outcome, expectation));
        },
        (error) => fail(error),
      );
    });
  };
}

function appendResponse(outcome: AppendOutcome, expected: ExpectedRevision): AppendResp {
  const empty = () => new sharedPb.Empty();
  if (outcome.ok) {
    const success = new streamsPb.AppendResp.Success();
    if (outcome.revision < 0n) success.setNoStream(empty());
    else success.setCurrentRevision(outcome.revision.toString());
    if (outcome.position < 0n) success.setNoPosition(empty());
    else
      success.setPosition(
        new streamsPb.AppendResp.Position()
          .setCommitPosition(outcome.position.toString())
          .setPreparePosition(outcome.position.toString()),
      );
    return new streamsPb.AppendResp().setSuccess(success);
  }
  const wrong = new streamsPb.AppendResp.WrongExpectedVersion();
  if (outcome.reason === "wrong_expected_version" && outcome.currentRevision !== null) {
    wrong.setCurrentRevision(outcome.currentRevision.toString());
  } else {
    wrong.setCurrentNoStream(empty());
  }
  if (expected.kind === "exact") wrong.setExpectedRevision(expected.revision.toString());
  else if (expected.kind === "any") wrong.setExpectedAny(empty());
  else if (expected.kind === "no_stream") wrong.setExpectedNoStream(empty());
  else wrong.setExpectedStreamExists(empty());
  return new streamsPb.AppendResp().setWrongExpectedVersion(wrong);
}

interface PendingBatch {
  streamName: string;
  expected: ExpectedRevision;
  events: ProposedEvent[];
  size: number;
}

/** At most this many correlation ids may be open (options sent, not final) on one call. */
const MAX_OPEN_BATCHES = 10_000;

/** Open BatchAppend calls (clients keep one open per connection), so that a stopping server can end them. */
export class BatchAppendCalls {
  private readonly finishers = new Set<() => void>();
  add(finish: () => void): () => void {
    this.finishers.add(finish);
    return () => this.finishers.delete(finish);
  }
  /** Ends every call once its in-flight appends are answered. */
  endAll(): void {
    for (const finish of [...this.finishers]) finish();
  }
}

export function batchAppendHandler(log: EventLog, calls: BatchAppendCalls) {
  return (call: ServerDuplexStream<BatchAppendRequest, BatchAppendResp>) => {
    const open = new Map<string, PendingBatch>();
    // Batches already answered with an error: their remaining requests are ignored (one answer per id).
    const rejected = new Set<string>();
    let inFlight = 0;
    let ended = false;
    // The answers of one group commit are acknowledged in the same tick: they go out in one write.
    const responses = new ResponseBatch(call as never);
    let flushScheduled = false;
    const isOpen = () => !call.cancelled && !call.writableEnded;
    const flush = () => {
      flushScheduled = false;
      if (isOpen()) responses.flush();
    };
    const finishIfDone = () => {
      if (!ended || inFlight > 0 || call.writableEnded) return;
      flush();
      call.end();
    };
    const reply = (response: BatchAppendResp | Buffer) => {
      if (!isOpen()) return;
      responses.message(Buffer.isBuffer(response) ? response : response.serializeBinary());
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    };
    const failCall = (error: unknown) => {
      if (!isOpen()) return;
      ended = true;
      flush();
      call.emit("error", toServiceError(error));
    };
    call.on("data", (request: BatchAppendRequest) => {
      if (ended) return;
      const correlationBytes = request.correlation;
      const correlation = correlationBytes && sharedPb.UUID.deserializeBinary(correlationBytes);
      const key = correlationBytes ? correlationBytes.toString("latin1") : "";
      if (rejected.has(key)) {
        if (request.isFinal) rejected.delete(key);
        return;
      }
      let batch = open.get(key);
      try {
        if (!correlationBytes) throw new BadRequest("A correlation id is required.");
        if (!batch) {
          if (!request.options) throw new BadRequest("The first request of a batch must carry its options.");
          if (open.size >= MAX_OPEN_BATCHES) throw new BadRequest("Too many unfinished batches.");
          batch = { ...request.options(), events: [], size: 0 };
          open.set(key, batch);
        }
        for (const proposed of request.proposed) {
          const event = proposed();
          batch.size += proposedSize(event);
          if (batch.size > MAX_APPEND_SIZE) throw maximumAppendSizeExceeded(MAX_APPEND_SIZE);
          batch.events.push(event);
        }
      } catch (error) {
        open.delete(key);
        if (!request.isFinal) rejected.add(key);
        reply(errorResponse(correlation, batch?.streamName ?? "", error));
        return;
      }
      if (!request.isFinal) return;
      open.delete(key);
      const done = batch;
      inFlight += 1;
      log
        .append(done.streamName, done.expected, done.events)
        .then(
          (outcome) =>
            reply(
              outcome.ok
                ? encodeBatchAppendSuccess(correlationBytes, done.streamName, done.expected, outcome.revision, outcome.position)
                : batchResponse(correlation!, done, outcome),
            ),
          (error) => {
            // A full disk fails every write on this call, not this batch alone: end the call with
            // RESOURCE_EXHAUSTED. An in-band google.rpc.Status would carry the same code, but the
            // official client turns in-band codes it does not know into UnknownError without it;
            // ending the call reaches it as a status (error.code), and its next append opens a new call.
            if (isStorageFull(error)) return failCall(error);
            reply(errorResponse(correlation, done.streamName, error));
          },
        )
        .finally(() => {
          inFlight -= 1;
          finishIfDone();
        });
    });
    const forget = calls.add(() => {
      ended = true;
      finishIfDone();
    });
    call.on("end", () => {
      ended = true;
      finishIfDone();
    });
    call.on("error", () => {
      ended = true;
    });
    call.on("close", forget);
    call.on("cancelled", forget);
  };
}

function baseResponse(correlation: InstanceType<typeof sharedPb.UUID> | undefined, streamName: string): BatchAppendResp {
  const response = new streamsPb.BatchAppendResp();
  if (correlation) response.setCorrelationId(correlation);
  return response.setStreamIdentifier(streamIdentifier(streamName));
}

function withExpected(response: BatchAppendResp, expected: ExpectedRevision): BatchAppendResp {
  const empty = new emptyPb.Empty();
  if (expected.kind === "exact") return response.setStreamPosition(expected.revision.toString());
  if (expected.kind === "any") return response.setAny(empty);
  if (expected.kind === "no_stream") return response.setNoStream(empty);
  return response.setStreamExists(empty);
}

function batchResponse(correlation: InstanceType<typeof sharedPb.UUID>, batch: PendingBatch, outcome: AppendOutcome): BatchAppendResp {
  const response = withExpected(baseResponse(correlation, batch.streamName), batch.expected);
  if (outcome.ok) {
    const success = new streamsPb.BatchAppendResp.Success();
    if (outcome.revision < 0n) success.setNoStream(new emptyPb.Empty());
    else success.setCurrentRevision(outcome.revision.toString());
    if (outcome.position < 0n) success.setNoPosition(new emptyPb.Empty());
    else
      success.setPosition(
        new sharedPb.AllStreamPosition()
          .setCommitPosition(outcome.position.toString())
          .setPreparePosition(outcome.position.toString()),
      );
    return response.setSuccess(success);
  }
  if (outcome.reason === "stream_deleted") {
    const details = new sharedPb.StreamDeleted().setStreamIdentifier(streamIdentifier(batch.streamName));
    return response.setError(rpcStatus(status.FAILED_PRECONDITION, `Event stream '${batch.streamName}' is deleted.`, "StreamDeleted", details));
  }
  const details = new sharedPb.WrongExpectedVersion();
  if (outcome.currentRevision === null) details.setCurrentNoStream(new emptyPb.Empty());
  else details.setCurrentStreamRevision(outcome.currentRevision.toString());
  const expected = batch.expected;
  if (expected.kind === "exact") details.setExpectedStreamPosition(expected.revision.toString());
  else if (expected.kind === "any") details.setExpectedAny(new emptyPb.Empty());
  else if (expected.kind === "no_stream") details.setExpectedNoStream(new emptyPb.Empty());
  else details.setExpectedStreamExists(new emptyPb.Empty());
  const message = `WrongExpectedVersion ${batch.streamName}, expected ${describe(expected)}, current ${outcome.currentRevision ?? "no stream"}`;
  return response.setError(rpcStatus(status.FAILED_PRECONDITION, message, "WrongExpectedVersion", details));
}

function describe(expected: ExpectedRevision): string {
  return expected.kind === "exact" ? expected.revision.toString() : expected.kind;
}

function errorResponse(correlation: InstanceType<typeof sharedPb.UUID> | undefined, streamName: string, error: unknown): BatchAppendResp {
  const response = baseResponse(correlation, streamName);
  const serviceError = toServiceError(error);
  const exception = serviceError.metadata?.get("exception")[0]?.toString();
  if (exception === "maximum-append-size-exceeded") {
    const details = new sharedPb.MaximumAppendSizeExceeded().setMaxappendsize(MAX_APPEND_SIZE);
    return response.setError(rpcStatus(status.INVALID_ARGUMENT, serviceError.details, "MaximumAppendSizeExceeded", details));
  }
  const details = new sharedPb.BadRequest().setMessage(serviceError.details);
  return response.setError(rpcStatus(serviceError.code, serviceError.details, "BadRequest", details));
}

function rpcStatus(code: number, message: string, detailType: string, details: { serializeBinary(): Uint8Array }) {
  const packed = new anyPb.Any();
  packed.setTypeUrl(`type.googleapis.com/event_store.client.${detailType}`);
  packed.setValue(details.serializeBinary());
  return new statusPb.Status().setCode(code).setMessage(message).setDetails(packed);
}
