// The answers of Streams.Append and Streams.BatchAppend: success, WrongExpectedVersion, StreamDeleted,
// Timeout and bad requests, encoded as EventStoreDB sends them (BatchAppend errors in-band as google.rpc.Status).
import { status } from "@grpc/grpc-js";
import type { AppendOutcome, ExpectedRevision, ProposedEvent } from "../log";
import { toServiceError } from "./errors";
import { anyPb, emptyPb, sharedPb, statusPb, streamsPb } from "./proto";
import { streamIdentifier } from "./codec";

export const MAX_APPEND_SIZE = 1024 * 1024;

export interface PendingBatch {
  streamName: string;
  expected: ExpectedRevision;
  /** When the client stops waiting (ms since the epoch); undefined = no deadline. */
  deadline?: number;
  events: ProposedEvent[];
  size: number;
}

type AppendResp = InstanceType<typeof streamsPb.AppendResp>;
type BatchAppendResp = InstanceType<typeof streamsPb.BatchAppendResp>;

export function appendResponse(outcome: AppendOutcome, expected: ExpectedRevision): AppendResp {
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

export function batchResponse(correlation: InstanceType<typeof sharedPb.UUID>, batch: PendingBatch, outcome: AppendOutcome): BatchAppendResp {
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

export function errorResponse(correlation: InstanceType<typeof sharedPb.UUID> | undefined, streamName: string, error: unknown): BatchAppendResp {
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

/** EventStoreDB's answer to a batch whose deadline passed before it was written: in-band Timeout (DEADLINE_EXCEEDED). */
export function timeoutResponse(correlation: InstanceType<typeof sharedPb.UUID> | undefined, streamName: string): BatchAppendResp {
  return baseResponse(correlation, streamName).setError(
    rpcStatus(status.DEADLINE_EXCEEDED, "Timeout", "Timeout", new sharedPb.Timeout()),
  );
}

function rpcStatus(code: number, message: string, detailType: string, details: { serializeBinary(): Uint8Array }) {
  const packed = new anyPb.Any();
  packed.setTypeUrl(`type.googleapis.com/event_store.client.${detailType}`);
  packed.setValue(details.serializeBinary());
  return new statusPb.Status().setCode(code).setMessage(message).setDetails(packed);
}
