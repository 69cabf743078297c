// Conformance: reading a stream and $all, forwards and backwards, from a revision or position, with a count.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKWARDS, END, FORWARDS, START, StreamNotFoundError } from "@eventstore/db-client";
import { openStore, uniqueStream, type StoreUnderTest } from "./harness";
import { collect, events, failureOf, revisionsOf } from "./helpers";

let store: StoreUnderTest;
beforeAll(async () => {
  store = await openStore();
});
afterAll(async () => {
  await store?.close();
});

describe("reading a stream", () => {
  let stream: string;
  beforeAll(async () => {
    stream = uniqueStream("read");
    await store.client.appendToStream(stream, events(10), { expectedRevision: "no_stream" });
  });
  const read = (options: Parameters<StoreUnderTest["client"]["readStream"]>[1]) =>
    collect(store.client.readStream(stream, options)).then(revisionsOf);

  it("reads forwards from the start, from a revision, with a count", async () => {
    expect(await read({})).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i)));
    expect(await read({ fromRevision: 7n })).toEqual([7n, 8n, 9n]);
    expect(await read({ fromRevision: START, maxCount: 3 })).toEqual([0n, 1n, 2n]);
    expect(await read({ fromRevision: 4n, maxCount: 2, direction: FORWARDS })).toEqual([4n, 5n]);
    expect(await read({ fromRevision: 50n })).toEqual([]);
    expect(await read({ fromRevision: END })).toEqual([]);
  });

  it("reads backwards from the end and from a revision", async () => {
    expect(await read({ direction: BACKWARDS, fromRevision: END, maxCount: 3 })).toEqual([9n, 8n, 7n]);
    expect(await read({ direction: BACKWARDS, fromRevision: 2n })).toEqual([2n, 1n, 0n]);
    expect(await read({ direction: BACKWARDS, fromRevision: END })).toHaveLength(10);
  });

  it("pages through a stream longer than one server page", async () => {
    const long = uniqueStream("long");
    await store.client.appendToStream(long, events(1200));
    const all = revisionsOf(await collect(store.client.readStream(long)));
    expect(all).toEqual(Array.from({ length: 1200 }, (_, i) => BigInt(i)));
    const back = revisionsOf(await collect(store.client.readStream(long, { direction: BACKWARDS, fromRevision: END, maxCount: 700 })));
    expect(back[0]).toBe(1199n);
    expect(back).toHaveLength(700);
    expect(back[699]).toBe(500n);
  });

  it("fails with StreamNotFound for a stream that was never written", async () => {
    const missing = uniqueStream("missing");
    const error = await failureOf(store.client.readStream(missing));
    expect(error).toBeInstanceOf(StreamNotFoundError);
    expect(error.streamName).toBe(missing);
  });
});

describe("reading $all", () => {
  it("returns every event from a position on, in position order, including the one at that position", async () => {
    const a = uniqueStream("all");
    const b = uniqueStream("all");
    const first = await store.client.appendToStream(a, events(3));
    await store.client.appendToStream(b, events(2));
    await store.client.appendToStream(a, events(1, "Later"));
    const read = await collect(store.client.readAll({ fromPosition: first.position!, maxCount: 5000 }));
    const mine = read.filter((e) => e.event && (e.event.streamId === a || e.event.streamId === b));
    expect(mine.map((e) => `${e.event!.streamId === a ? "a" : "b"}${e.event!.revision}`)).toEqual(["a2", "b0", "b1", "a3"]);
    expect(read[0]!.event!.streamId).toBe(a);
    expect(read[0]!.event!.revision).toBe(2n);
    const commits = read.map((e) => e.event!.position!.commit);
    for (let i = 1; i < commits.length; i += 1) expect(commits[i]!).toBeGreaterThan(commits[i - 1]!);
  });

  it("reads backwards from the end and from a position (exclusive), with a count", async () => {
    const stream = uniqueStream("allback");
    const results = [];
    for (let i = 0; i < 3; i += 1) results.push(await store.client.appendToStream(stream, events(1, "Step", i)));
    const latest = await collect(store.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }));
    expect(latest).toHaveLength(1);
    expect(latest[0]!.event!.position!.commit).toBeGreaterThanOrEqual(results[2]!.position!.commit);
    // The system projections' links to these events sit between them in $all (as on a real node).
    const before = await collect(store.client.readAll({ direction: BACKWARDS, fromPosition: results[2]!.position!, maxCount: 20 }));
    expect(before[0]!.event!.position!.commit).toBeLessThan(results[2]!.position!.commit);
    const mine = before.filter((e) => e.event!.streamId === stream).slice(0, 2);
    expect(mine.map((e) => e.event!.position!.commit)).toEqual([results[1]!.position!.commit, results[0]!.position!.commit]);
  });

  it("reads forwards from the start with a count", async () => {
    const read = await collect(store.client.readAll({ fromPosition: START, maxCount: 5 }));
    expect(read.length).toBeGreaterThan(0);
    expect(read.length).toBeLessThanOrEqual(5);
  });
});
