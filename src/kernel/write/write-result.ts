// Where a command's events landed, as every command RPC answers it (eventmall.common.v1.WriteResult).
import { create } from "@bufbuild/protobuf";
import { WriteResultSchema, type WriteResult } from "../../../gen/eventmall/common/v1/command_pb";
import { encodePositionToken } from "../read/read-your-writes";
import type { HandleResult } from "./repository";

export function writeResult(outcome: Pick<HandleResult<unknown, unknown>, "revision" | "commitPosition">): WriteResult {
  const commitPosition = outcome.commitPosition ?? 0n;
  return create(WriteResultSchema, {
    streamRevision: outcome.revision ?? 0n,
    commitPosition,
    positionToken: encodePositionToken(commitPosition),
  });
}
