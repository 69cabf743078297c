// A Streams.Read call as the read and subscription handlers write to it: backpressure, whether the
// client is still there, and failing it with the store's error trailers.
import type { ServerWritableStream } from "@grpc/grpc-js";
import { toServiceError } from "./errors";
import { streamsPb } from "./proto";

type ReadReq = InstanceType<typeof streamsPb.ReadReq>;
type ReadResp = InstanceType<typeof streamsPb.ReadResp>;

export type ReadCall = ServerWritableStream<ReadReq, ReadResp>;

/** Resolves when the call can take more writes, or is gone. */
export function writable(call: ReadCall): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      call.off("close", done);
      call.off("cancelled", done);
      resolve();
    };
    call.on("drain", done);
    call.on("close", done);
    call.on("cancelled", done);
  });
}

export function isGone(call: ReadCall): boolean {
  return call.cancelled || call.destroyed || call.writableEnded;
}

/** Writes, waiting for the client to keep up. Returns false once the call is gone. */
export async function send(call: ReadCall, message: ReadResp | Buffer): Promise<boolean> {
  if (isGone(call)) return false;
  if (!call.write(message as ReadResp)) await writable(call);
  return !isGone(call);
}

export function fail(call: ReadCall, error: unknown): void {
  if (isGone(call)) return;
  call.emit("error", toServiceError(error));
}
