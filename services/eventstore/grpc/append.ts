// Streams.Append (client stream: options, then events; one response) and Streams.BatchAppend
// (bidirectional; requests grouped by correlation id; errors in-band as google.rpc.Status).
import { type sendUnaryData, type ServerDuplexStream, type ServerReadableStream } from "@grpc/grpc-js";
import type { EventLog, ExpectedRevision, ProposedEvent } from "../log";
import {
  EXPECTED_CASES,
  expectedRevisionOf,
  proposedEvent,
  proposedSize,
  streamNameOf,
} from "./codec";
import { BadRequest, maximumAppendSizeExceeded, streamDeleted, toServiceError } from "./errors";
import { isStorageFull } from "../storage-full";
import { sharedPb, streamsPb } from "./proto";
import { ResponseBatch } from "./framed-writes";
import { type BatchAppendRequest, encodeBatchAppendSuccess } from "./batch-append-codec";
import { appendResponse, batchResponse, errorResponse, MAX_APPEND_SIZE, timeoutResponse, type PendingBatch } from "./append-responses";

export { MAX_APPEND_SIZE } from "./append-responses";

type AppendReq = InstanceType<typeof streamsPb.AppendReq>;
type AppendResp = InstanceType<typeof streamsPb.AppendResp>;
type BatchAppendResp = InstanceType<typeof streamsPb.BatchAppendResp>;

/** EventStoreDB's default --max-append-size. */

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
      // grpc-js ends the call with DEADLINE_EXCEEDED when the client's deadline passes: write nothing then.
      if (call.cancelled) return;
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

class DeadlinePassed extends Error {}

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
        // Checked before the size: EventStoreDB's deadline timer fires while a large batch still arrives.
        if (batch.deadline !== undefined && Date.now() > batch.deadline) throw new DeadlinePassed();
        for (const proposed of request.proposed) {
          const event = proposed();
          batch.size += proposedSize(event);
          if (batch.size > MAX_APPEND_SIZE) throw maximumAppendSizeExceeded(MAX_APPEND_SIZE);
          batch.events.push(event);
        }
      } catch (error) {
        open.delete(key);
        if (!request.isFinal) rejected.add(key);
        const streamName = batch?.streamName ?? "";
        // EventStoreDB answers Timeout once a batch's deadline has passed; such a batch is not written.
        reply(error instanceof DeadlinePassed ? timeoutResponse(correlation, streamName) : errorResponse(correlation, streamName, error));
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
