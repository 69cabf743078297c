// Streams.Delete (soft: the stream reads as not found, can be re-created and continues its revisions)
// and Streams.Tombstone (hard: the stream is deleted forever).
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import type { EventLog, ExpectedRevision } from "../log";
import { EXPECTED_CASES, expectedRevisionOf, streamNameOf } from "./codec";
import { BadRequest, streamDeleted, toServiceError, wrongExpectedVersion } from "./errors";
import { sharedPb, streamsPb } from "./proto";

type DeleteReq = InstanceType<typeof streamsPb.DeleteReq>;
type DeleteResp = InstanceType<typeof streamsPb.DeleteResp>;
type TombstoneReq = InstanceType<typeof streamsPb.TombstoneReq>;
type TombstoneResp = InstanceType<typeof streamsPb.TombstoneResp>;

interface DeleteOptions {
  getStreamIdentifier(): InstanceType<typeof sharedPb.StreamIdentifier> | undefined;
  getRevision(): string;
  getExpectedStreamRevisionCase(): number;
}

async function remove(log: EventLog, options: DeleteOptions | undefined, hard: boolean): Promise<bigint | null> {
  if (!options) throw new BadRequest("Delete options are required.");
  const streamName = streamNameOf(options.getStreamIdentifier());
  const expected: ExpectedRevision = expectedRevisionOf(
    options.getExpectedStreamRevisionCase(),
    () => options.getRevision(),
    EXPECTED_CASES,
  );
  const outcome = await log.deleteStream(streamName, expected, hard);
  if (outcome.ok) return outcome.position >= 0n ? outcome.position : null;
  if (outcome.reason === "stream_deleted") throw streamDeleted(streamName);
  throw wrongExpectedVersion(streamName, expected, outcome.currentRevision);
}

export function deleteHandler(log: EventLog) {
  return (call: ServerUnaryCall<DeleteReq, DeleteResp>, callback: sendUnaryData<DeleteResp>) => {
    remove(log, call.request.getOptions(), false).then(
      (position) => {
        const response = new streamsPb.DeleteResp();
        if (position === null) response.setNoPosition(new sharedPb.Empty());
        else
          response.setPosition(
            new streamsPb.DeleteResp.Position().setCommitPosition(position.toString()).setPreparePosition(position.toString()),
          );
        callback(null, response);
      },
      (error) => callback(toServiceError(error)),
    );
  };
}

export function tombstoneHandler(log: EventLog) {
  return (call: ServerUnaryCall<TombstoneReq, TombstoneResp>, callback: sendUnaryData<TombstoneResp>) => {
    remove(log, call.request.getOptions(), true).then(
      (position) => {
        const response = new streamsPb.TombstoneResp();
        if (position === null) response.setNoPosition(new sharedPb.Empty());
        else
          response.setPosition(
            new streamsPb.TombstoneResp.Position().setCommitPosition(position.toString()).setPreparePosition(position.toString()),
          );
        callback(null, response);
      },
      (error) => callback(toServiceError(error)),
    );
  };
}
