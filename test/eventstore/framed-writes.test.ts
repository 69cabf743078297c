// Batched Read responses (embedded-store unit test): many gRPC messages written as one grpc-js write
// arrive at a grpc-js client as the same messages, in order; and this grpc-js takes the batched path.
import { afterEach, describe, expect, it } from "vitest";
import { Client, Metadata, Server, ServerCredentials, credentials, type ServerWritableStream } from "@grpc/grpc-js";
import { ResponseBatch } from "../../services/eventstore/grpc/framed-writes";
import { rejectUnparsableRequests } from "../../services/eventstore/grpc/unparsable-requests";
import { encodeReadEvent } from "../../services/eventstore/grpc/read-encoding";
import type { StoredEvent } from "../../services/eventstore/log";

const identity = (bytes: Buffer) => bytes;
const definition = {
  stream: {
    path: "/test.Batches/Stream",
    requestStream: false,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

function event(n: number): StoredEvent {
  return {
    position: BigInt(n),
    streamId: "batched",
    revision: BigInt(n),
    id: "0b9e0f3c-6f1a-4c59-9a3e-1f7c2d9b8a7" + (n % 10),
    type: "Happened",
    contentType: "application/json",
    data: Buffer.from(JSON.stringify({ n, pad: "x".repeat(n % 700) })),
    metadata: new Uint8Array(0),
    created: 638000000000000000n + BigInt(n),
  };
}

let stop: () => void = () => {};
afterEach(() => stop());

describe("batched Read responses", () => {
  it("arrive as the same messages in order, across several batches", async () => {
    const total = 3000;
    let batched: boolean | undefined;
    // With the store's own interceptor in front, as in server.ts.
    const server = new Server({ interceptors: [rejectUnparsableRequests] });
    server.addService(definition, {
      stream: (call: ServerWritableStream<Buffer, Buffer>) => {
        const batch = new ResponseBatch(call as never);
        batched = batch.batched;
        batch.message(Buffer.from("first"));
        for (let n = 0; n < total; n += 1) batch.event({ event: event(n) }, n % 2 === 0);
        batch.message(new Uint8Array(0));
        batch.flush();
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    stop = () => {
      client.close();
      server.forceShutdown();
    };
    const received: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.makeServerStreamRequest("/test.Batches/Stream", identity, identity, Buffer.alloc(0), new Metadata());
      call.on("data", (bytes: Buffer) => received.push(bytes));
      call.on("end", resolve);
      call.on("error", reject);
    });
    expect(batched).toBe(true);
    expect(received).toHaveLength(total + 2);
    expect(received[0]!.toString()).toBe("first");
    for (let n = 0; n < total; n += 1) expect(received[n + 1]!.equals(encodeReadEvent({ event: event(n) }, n % 2 === 0))).toBe(true);
    expect(received[total + 1]!.length).toBe(0);
  });
});
