// Conformance: soft delete, tombstone, stream metadata ($maxCount, $maxAge, $tb) and link resolution.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import {
  binaryEvent,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from "@eventstore/db-client";
import { openStore, uniqueStream, type StoreUnderTest } from "./harness";
import { collect, events, failureOf, failureOfPromise, revisionsOf } from "./helpers";

let store: StoreUnderTest;
beforeAll(async () => {
  store = await openStore();
});
afterAll(async () => {
  await store?.close();
});

describe("soft delete", () => {
  it("makes the stream read as not found; appending re-creates it and revisions continue", async () => {
    const stream = uniqueStream("soft");
    await store.client.appendToStream(stream, events(3));
    await store.client.setStreamMetadata(stream, { owner: "shop-1" });
    const deleted = await store.client.deleteStream(stream, { expectedRevision: 2n });
    expect(deleted.position).toBeDefined();
    expect(await failureOf(store.client.readStream(stream))).toBeInstanceOf(StreamNotFoundError);

    const recreated = await store.client.appendToStream(stream, events(2), { expectedRevision: "no_stream" });
    expect(recreated.nextExpectedRevision).toBe(4n);
    expect(revisionsOf(await collect(store.client.readStream(stream)))).toEqual([3n, 4n]);
    const { metadata } = await store.client.getStreamMetadata(stream);
    expect(metadata?.owner).toBe("shop-1");
    expect(metadata?.truncateBefore).toBe(3);
  });

  it("allows re-creating with any, and only the first no_stream append succeeds", async () => {
    const stream = uniqueStream("soft");
    await store.client.appendToStream(stream, events(2));
    await store.client.deleteStream(stream);
    expect((await store.client.appendToStream(stream, events(1), { expectedRevision: "any" })).nextExpectedRevision).toBe(2n);
    const second = await failureOfPromise(store.client.appendToStream(stream, events(1), { expectedRevision: "no_stream" }));
    expect(second).toBeInstanceOf(WrongExpectedVersionError);
  });

  it("checks the expected revision", async () => {
    const stream = uniqueStream("soft");
    await store.client.appendToStream(stream, events(2));
    const error = await failureOfPromise(store.client.deleteStream(stream, { expectedRevision: 5n }));
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(error.streamName).toBe(stream);
    expect(error.expectedVersion).toBe(5n);
    expect(error.actualVersion).toBe(1n);
    expect(await collect(store.client.readStream(stream))).toHaveLength(2);
  });

  it("is recorded as a $metadata event in the $$ stream", async () => {
    const stream = uniqueStream("soft");
    const written = await store.client.appendToStream(stream, events(1));
    await store.client.deleteStream(stream);
    const all = await collect(store.client.readAll({ fromPosition: written.position!, maxCount: 1000 }));
    const meta = all.find((e) => e.event?.streamId === `$$${stream}`);
    expect(meta?.event?.type).toBe("$metadata");
  });
});

describe("tombstone", () => {
  it("deletes the stream forever: reads, appends and deletes fail with StreamDeleted", async () => {
    const stream = uniqueStream("tomb");
    const written = await store.client.appendToStream(stream, events(2));
    await store.client.tombstoneStream(stream);
    const read = await failureOf(store.client.readStream(stream));
    expect(read).toBeInstanceOf(StreamDeletedError);
    expect(read.streamName).toBe(stream);
    for (const expectedRevision of ["any", "no_stream"] as const) {
      const append = await failureOfPromise(store.client.appendToStream(stream, events(1), { expectedRevision }));
      expect(append).toBeInstanceOf(StreamDeletedError);
    }
    const viaAppend = await failureOfPromise(
      store.client.appendToStream(stream, events(1), { credentials: { username: "admin", password: "changeit" } }),
    );
    expect(viaAppend).toBeInstanceOf(StreamDeletedError);
    expect(await failureOfPromise(store.client.deleteStream(stream))).toBeInstanceOf(StreamDeletedError);
    expect(await failureOfPromise(store.client.tombstoneStream(stream))).toBeInstanceOf(StreamDeletedError);
    const all = await collect(store.client.readAll({ fromPosition: written.position!, maxCount: 1000 }));
    expect(all.some((e) => e.event?.streamId === stream && e.event.type === "$streamDeleted")).toBe(true);
  });

  it("can follow a soft delete, and checks the expected revision", async () => {
    const stream = uniqueStream("tomb");
    await store.client.appendToStream(stream, events(1));
    const error = await failureOfPromise(store.client.tombstoneStream(stream, { expectedRevision: 3n }));
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    await store.client.deleteStream(stream);
    await store.client.tombstoneStream(stream);
    expect(await failureOf(store.client.readStream(stream))).toBeInstanceOf(StreamDeletedError);
  });
});

describe("stream metadata", () => {
  it("round-trips through setStreamMetadata/getStreamMetadata, custom keys included", async () => {
    const stream = uniqueStream("meta");
    expect((await store.client.getStreamMetadata(stream)).metadata).toBeUndefined();
    await store.client.setStreamMetadata(stream, { maxCount: 10, maxAge: 3600, custom: { a: 1 } });
    const { metadata } = await store.client.getStreamMetadata(stream);
    expect(metadata).toEqual({ maxCount: 10, maxAge: 3600, custom: { a: 1 } });
    await store.client.setStreamMetadata(stream, { maxCount: 5 });
    expect((await store.client.getStreamMetadata(stream)).metadata).toEqual({ maxCount: 5 });
  });

  it("applies $maxCount and $tb to reads", async () => {
    const stream = uniqueStream("meta");
    await store.client.appendToStream(stream, events(6));
    await store.client.setStreamMetadata(stream, { maxCount: 2 });
    expect(revisionsOf(await collect(store.client.readStream(stream)))).toEqual([4n, 5n]);
    await store.client.setStreamMetadata(stream, { truncateBefore: 3 });
    expect(revisionsOf(await collect(store.client.readStream(stream)))).toEqual([3n, 4n, 5n]);
    await store.client.setStreamMetadata(stream, { truncateBefore: 3, maxCount: 1 });
    expect(revisionsOf(await collect(store.client.readStream(stream, { direction: "backwards", fromRevision: "end" })))).toEqual([5n]);
    await store.client.setStreamMetadata(stream, {});
    expect(await collect(store.client.readStream(stream))).toHaveLength(6);
  });

  it("applies $maxAge to reads", async () => {
    const stream = uniqueStream("meta");
    await store.client.appendToStream(stream, events(2));
    await sleep(2100);
    await store.client.appendToStream(stream, events(1));
    await store.client.setStreamMetadata(stream, { maxAge: 1 });
    expect(revisionsOf(await collect(store.client.readStream(stream)))).toEqual([2n]);
  });
});

describe("links", () => {
  it("are resolved to the event they point to when resolveLinkTos is set", async () => {
    const target = uniqueStream("target");
    const links = uniqueStream("links");
    await store.client.appendToStream(target, events(3));
    await store.client.appendToStream(links, [
      binaryEvent({ type: "$>", data: Buffer.from(`1@${target}`) }),
      binaryEvent({ type: "$>", data: Buffer.from(`2@${target}`) }),
    ]);
    const resolved = await collect(store.client.readStream(links, { resolveLinkTos: true }));
    expect(resolved.map((e) => [e.event!.streamId, e.event!.revision])).toEqual([
      [target, 1n],
      [target, 2n],
    ]);
    expect(resolved.map((e) => [e.link!.streamId, e.link!.revision, e.link!.type])).toEqual([
      [links, 0n, "$>"],
      [links, 1n, "$>"],
    ]);
    await store.client.appendToStream(links, [binaryEvent({ type: "$>", data: Buffer.from(`7@${target}`) })]);
    const dangling = (await collect(store.client.readStream(links, { resolveLinkTos: true, fromRevision: 2n })))[0]!;
    expect(dangling.event).toBeUndefined();
    expect([dangling.link!.type, dangling.link!.revision]).toEqual(["$>", 2n]);
    const raw = await collect(store.client.readStream(links, { maxCount: 2 }));
    expect(raw.map((e) => [e.event!.type, e.link])).toEqual([
      ["$>", undefined],
      ["$>", undefined],
    ]);
  });
});

describe("expected revision stream_exists", () => {
  it("accepts a stream that has metadata but no events yet, and rejects a soft-deleted stream with StreamDeleted", async () => {
    const stream = uniqueStream("exists");
    await store.client.setStreamMetadata(stream, { maxCount: 5 });
    expect((await store.client.appendToStream(stream, events(1), { expectedRevision: "stream_exists" })).nextExpectedRevision).toBe(0n);
    await store.client.deleteStream(stream);
    const error = await failureOfPromise(store.client.appendToStream(stream, events(1), { expectedRevision: "stream_exists" }));
    expect(error).toBeInstanceOf(StreamDeletedError);
  });

  it("lets a stream soft-deleted before it had events be created", async () => {
    const stream = uniqueStream("exists");
    await store.client.deleteStream(stream).catch(() => undefined);
    expect((await store.client.appendToStream(stream, events(2), { expectedRevision: "no_stream" })).nextExpectedRevision).toBe(1n);
    expect(revisionsOf(await collect(store.client.readStream(stream)))).toEqual([0n, 1n]);
  });
});
