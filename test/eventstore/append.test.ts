// Conformance: appends (BatchAppend, and Append as the client uses it with call credentials),
// expected revisions, WrongExpectedVersion as EventStoreDB reports it, idempotent retries.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { binaryEvent, jsonEvent, WrongExpectedVersionError, type AppendExpectedRevision } from "@eventstore/db-client";
import { openStore, uniqueStream, type StoreUnderTest } from "./harness";
import { ADMIN, collect, events, failureOfPromise, revisionsOf } from "./helpers";

let store: StoreUnderTest;
beforeAll(async () => {
  store = await openStore();
});
afterAll(async () => {
  await store?.close();
});

// The client uses BatchAppend unless call credentials are given; then it uses Append.
const paths = [
  { name: "BatchAppend", options: {} },
  { name: "Append", options: { credentials: ADMIN } },
] as const;

describe.each(paths)("appending through $name", ({ options }) => {
  const append = (stream: string, count: number, expectedRevision: AppendExpectedRevision) =>
    store.client.appendToStream(stream, events(count), { ...options, expectedRevision });

  it("creates a stream with no_stream and returns its revision and a position", async () => {
    const stream = uniqueStream("append");
    const result = await append(stream, 3, "no_stream");
    expect(result.success).toBe(true);
    expect(result.nextExpectedRevision).toBe(2n);
    expect(result.position!.commit).toBeGreaterThanOrEqual(0n);
    expect(result.position!.prepare).toBeLessThanOrEqual(result.position!.commit);
    expect(revisionsOf(await collect(store.client.readStream(stream)))).toEqual([0n, 1n, 2n]);
  });

  it("accepts the exact current revision and stream_exists, any for both new and existing streams", async () => {
    const stream = uniqueStream("append");
    await append(stream, 1, "any");
    expect((await append(stream, 2, 0n)).nextExpectedRevision).toBe(2n);
    expect((await append(stream, 1, "stream_exists")).nextExpectedRevision).toBe(3n);
    expect((await append(stream, 1, "any")).nextExpectedRevision).toBe(4n);
  });

  it("reports WrongExpectedVersion with the stream, the expectation and the actual revision", async () => {
    const stream = uniqueStream("append");
    await append(stream, 2, "no_stream");
    const stale = await failureOfPromise(append(stream, 1, 0n));
    expect(stale).toBeInstanceOf(WrongExpectedVersionError);
    expect(stale.streamName).toBe(stream);
    expect(stale.expectedVersion).toBe(0n);
    expect(stale.actualVersion).toBe(1n);

    const exists = await failureOfPromise(append(stream, 1, "no_stream"));
    expect(exists).toBeInstanceOf(WrongExpectedVersionError);
    expect(exists.expectedVersion).toBe("no_stream");
    expect(exists.actualVersion).toBe(1n);

    const missing = uniqueStream("append");
    const noStream = await failureOfPromise(append(missing, 1, "stream_exists"));
    expect(noStream).toBeInstanceOf(WrongExpectedVersionError);
    expect(noStream.expectedVersion).toBe("stream_exists");
    expect(noStream.actualVersion).toBe("no_stream");

    const ahead = await failureOfPromise(append(missing, 1, 4n));
    expect(ahead).toBeInstanceOf(WrongExpectedVersionError);
    expect(ahead.actualVersion).toBe("no_stream");
    expect(await collect(store.client.readStream(stream))).toHaveLength(2);
  });

  it("returns success: false instead of throwing when throwOnAppendFailure is off", async () => {
    const stream = uniqueStream("append");
    await append(stream, 1, "no_stream");
    const { EventStoreDBClient } = await import("@eventstore/db-client");
    const separator = store.connectionString.includes("?") ? "&" : "?";
    const lenient = EventStoreDBClient.connectionString(`${store.connectionString}${separator}throwOnAppendFailure=false`);
    try {
      const result = await lenient.appendToStream(stream, events(1), { ...options, expectedRevision: 7n });
      expect(result.success).toBe(false);
    } finally {
      await lenient.dispose();
    }
  });

  it("is idempotent when the same event ids are appended again at the same expectation", async () => {
    const stream = uniqueStream("idem");
    const batch = events(3);
    const first = await store.client.appendToStream(stream, batch, { ...options, expectedRevision: "no_stream" });
    const again = await store.client.appendToStream(stream, batch, { ...options, expectedRevision: "no_stream" });
    expect(again.nextExpectedRevision).toBe(first.nextExpectedRevision);

    const more = events(2);
    await store.client.appendToStream(stream, more, { ...options, expectedRevision: 2n });
    const retried = await store.client.appendToStream(stream, more, { ...options, expectedRevision: 2n });
    expect(retried.nextExpectedRevision).toBe(4n);

    const tail = events(1);
    await store.client.appendToStream(stream, tail, { ...options, expectedRevision: "any" });
    await store.client.appendToStream(stream, tail, { ...options, expectedRevision: "any" });
    const read = await collect(store.client.readStream(stream));
    expect(read.map((e) => e.event!.id)).toEqual([...batch, ...more, ...tail].map((e) => e.id));
  });
});

describe("event records", () => {
  it("carry id, type, content type, created time, data and custom metadata as appended", async () => {
    const stream = uniqueStream("record");
    const before = Date.now();
    const id = randomUUID();
    const bytes = new Uint8Array([0, 1, 2, 254, 255]);
    await store.client.appendToStream(stream, [
      jsonEvent({ id, type: "OrderPlaced", data: { total: 12.5, items: ["a"] }, metadata: { correlationId: "c-1" } }),
      binaryEvent({ type: "Blob", data: bytes, metadata: new Uint8Array([9, 8]) }),
    ]);
    const [json, binary] = await collect(store.client.readStream(stream));
    expect(json!.event).toMatchObject({
      streamId: stream,
      id,
      revision: 0n,
      type: "OrderPlaced",
      isJson: true,
      data: { total: 12.5, items: ["a"] },
      metadata: { correlationId: "c-1" },
    });
    expect(json!.event!.created.getTime()).toBeGreaterThanOrEqual(before - 60_000);
    expect(json!.event!.created.getTime()).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(binary!.event!.isJson).toBe(false);
    expect(Array.from(binary!.event!.data as Uint8Array)).toEqual(Array.from(bytes));
    expect(Array.from(binary!.event!.metadata as Uint8Array)).toEqual([9, 8]);
    expect(binary!.event!.position!.commit).toBeGreaterThan(json!.event!.position!.commit);
  });

  it("gets strictly increasing $all positions across streams and concurrent appends", async () => {
    const streams = [uniqueStream("pos"), uniqueStream("pos")];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => store.client.appendToStream(streams[i % 2]!, events(1))),
    );
    const commits = results.map((r) => r.position!.commit);
    expect(new Set(commits).size).toBe(commits.length);
    for (const stream of streams) {
      const read = await collect(store.client.readStream(stream));
      const positions = read.map((e) => e.event!.position!.commit);
      expect(positions).toEqual([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      expect(revisionsOf(read)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)));
    }
  });
});
