// Conformance: deadlines. An append or read whose deadline passes fails with DeadlineExceededError
// (appends: EventStoreDB answers a late BatchAppend in-band with Timeout), and the connection keeps working.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { DeadlineExceededError, jsonEvent } from "@eventstore/db-client";
import { StreamsClient } from "@eventstore/db-client/generated/streams_grpc_pb";
import { ReadReq, type ReadResp } from "@eventstore/db-client/generated/streams_pb";
import { Empty, StreamIdentifier } from "@eventstore/db-client/generated/shared_pb";
import { openStore, uniqueStream, type StoreUnderTest } from "./harness";
import { collect, events, failureOfPromise } from "./helpers";

let store: StoreUnderTest;
beforeAll(async () => {
  store = await openStore();
});
afterAll(async () => {
  await store?.close();
});

// The official suite's case: sending 30,000 events takes longer than 1 ms (the deadline is answered before the size check).
const manyEvents = (count: number) => Array.from({ length: count }, (_, i) => jsonEvent({ type: "test", data: { message: "test", index: i } }));

describe("append deadlines", () => {
  it("an append that cannot finish within its deadline fails with DeadlineExceededError", async () => {
    const error = await failureOfPromise(store.client.appendToStream(uniqueStream("deadline"), manyEvents(30_000), { deadline: 1 }));
    expect(error).toBeInstanceOf(DeadlineExceededError);
  });

  it("the same client appends again afterwards, within a generous deadline", async () => {
    const stream = uniqueStream("after-deadline");
    await failureOfPromise(store.client.appendToStream(stream, manyEvents(30_000), { deadline: 1 }));
    const result = await store.client.appendToStream(stream, events(3), { deadline: 10_000 });
    expect(result.success).toBe(true);
    expect(await collect(store.client.readStream(stream, { fromRevision: result.nextExpectedRevision }))).toHaveLength(1);
  });
});

describe("read deadlines", () => {
  // @eventstore/db-client 6.x sends reads without a deadline (its `deadline` option is not applied to
  // Read); other clients send one as grpc-timeout, so this case uses the client's own generated stubs.
  let stream: string;
  beforeAll(async () => {
    stream = uniqueStream("read-deadline");
    for (let i = 0; i < 4; i++) await store.client.appendToStream(stream, manyEvents(5_000));
  });

  function rawRead(deadlineMs: number): Promise<{ code: number; received: number }> {
    const address = new URL(store.connectionString.replace(/^esdb(\+discover)?:/, "http:")).host.split(",")[0]!;
    const client = new StreamsClient(address, credentials.createInsecure());
    const options = new ReadReq.Options()
      .setStream(new ReadReq.Options.StreamOptions().setStreamIdentifier(new StreamIdentifier().setStreamName(Buffer.from(stream))).setStart(new Empty()))
      .setReadDirection(ReadReq.Options.ReadDirection.FORWARDS)
      .setResolveLinks(false)
      .setCount("100000")
      .setNoFilter(new Empty())
      .setUuidOption(new ReadReq.Options.UUIDOption().setString(new Empty()));
    return new Promise((resolve) => {
      let received = 0;
      const call = client.read(new ReadReq().setOptions(options), new Metadata(), { deadline: Date.now() + deadlineMs });
      call.on("data", (response: ReadResp) => {
        if (response.hasEvent()) received++;
      });
      call.on("error", (error: ServiceError) => {
        client.close();
        resolve({ code: error.code, received });
      });
      call.on("end", () => {
        client.close();
        resolve({ code: status.OK, received });
      });
    });
  }

  it("a read that cannot finish within its grpc deadline ends with DEADLINE_EXCEEDED", async () => {
    const outcome = await rawRead(5);
    expect(outcome.code).toBe(status.DEADLINE_EXCEEDED);
    expect(outcome.received).toBeLessThan(20_000);
  });

  it("the same read with a generous deadline returns every event", async () => {
    expect(await rawRead(60_000)).toEqual({ code: status.OK, received: 20_000 });
    expect(await collect(store.client.readStream(stream, { deadline: 60_000 }))).toHaveLength(20_000);
  });
});
