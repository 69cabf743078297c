// Conformance: catch-up subscriptions to a stream and to $all (history, caught-up, live, no gap and
// no duplicate across the handoff), server-side filters and checkpoints.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  END,
  eventTypeFilter,
  START,
  StreamDeletedError,
  streamNameFilter,
  type Position,
  type ResolvedEvent,
} from "@eventstore/db-client";
import { openStore, uniqueStream, type StoreUnderTest } from "./harness";
import { events } from "./helpers";

let store: StoreUnderTest;
beforeAll(async () => {
  store = await openStore();
});
afterAll(async () => {
  await store?.close();
});

/** Collects `count` events from a subscription, noting when it reported caught-up. */
async function take(
  subscription: AsyncIterable<ResolvedEvent> & { on(event: string, fn: () => void): unknown; unsubscribe(): Promise<void> },
  count: number,
  onEvent?: (received: number) => Promise<void> | void,
) {
  const received: ResolvedEvent[] = [];
  let caughtUpAt = -1;
  subscription.on("caughtUp", () => {
    if (caughtUpAt < 0) caughtUpAt = received.length;
  });
  for await (const event of subscription) {
    received.push(event);
    await onEvent?.(received.length);
    if (received.length >= count) break;
  }
  await subscription.unsubscribe();
  return { received, caughtUpAt };
}

describe("subscribing to a stream", () => {
  it("delivers history, reports caught-up, then live events, without gap or duplicate", async () => {
    const stream = uniqueStream("sub");
    await store.client.appendToStream(stream, events(30));
    const writer = (async () => {
      for (let i = 0; i < 30; i += 1) await store.client.appendToStream(stream, events(1, "Live", i));
    })();
    const { received, caughtUpAt } = await take(store.client.subscribeToStream(stream, { fromRevision: START }), 60);
    await writer;
    expect(received.map((e) => e.event!.revision)).toEqual(Array.from({ length: 60 }, (_, i) => BigInt(i)));
    expect(caughtUpAt).toBeGreaterThanOrEqual(30);
  });

  it("starts after the given revision, or with new events only from the end", async () => {
    const stream = uniqueStream("sub");
    await store.client.appendToStream(stream, events(5));
    const fromRevision = await take(store.client.subscribeToStream(stream, { fromRevision: 2n }), 2);
    expect(fromRevision.received.map((e) => e.event!.revision)).toEqual([3n, 4n]);

    const fromEnd = store.client.subscribeToStream(stream, { fromRevision: END });
    const caughtUp = new Promise((resolve) => fromEnd.on("caughtUp", resolve));
    const pending = take(fromEnd, 1);
    await caughtUp;
    await store.client.appendToStream(stream, events(1, "New"));
    const { received } = await pending;
    expect(received.map((e) => [e.event!.revision, e.event!.type])).toEqual([[5n, "New"]]);
  });

  it("waits for a stream that does not exist yet", async () => {
    const stream = uniqueStream("sub");
    const subscription = store.client.subscribeToStream(stream);
    const caughtUp = new Promise((resolve) => subscription.on("caughtUp", resolve));
    const pending = take(subscription, 2);
    await caughtUp;
    await store.client.appendToStream(stream, events(2));
    expect((await pending).received.map((e) => e.event!.revision)).toEqual([0n, 1n]);
  });

  it("fails with StreamDeleted on a tombstoned stream", async () => {
    const stream = uniqueStream("sub");
    await store.client.appendToStream(stream, events(1));
    await store.client.tombstoneStream(stream);
    const subscription = store.client.subscribeToStream(stream);
    const error = await new Promise((resolve) => subscription.on("error", resolve));
    expect(error).toBeInstanceOf(StreamDeletedError);
  });

  it("resolves links when asked", async () => {
    const target = uniqueStream("target");
    const links = uniqueStream("links");
    await store.client.appendToStream(target, events(2));
    await store.client.appendToStream(links, events(0));
    const { binaryEvent } = await import("@eventstore/db-client");
    await store.client.appendToStream(links, [binaryEvent({ type: "$>", data: Buffer.from(`1@${target}`) })]);
    const { received } = await take(store.client.subscribeToStream(links, { resolveLinkTos: true }), 1);
    expect([received[0]!.event!.streamId, received[0]!.event!.revision, received[0]!.link!.streamId]).toEqual([target, 1n, links]);
  });
});

describe("subscribing to $all", () => {
  it("delivers history then live events after the given position, in position order, exactly once", async () => {
    const prefix = uniqueStream("suball");
    const a = `${prefix}-a`;
    const b = `${prefix}-b`;
    const start = (await store.client.appendToStream(a, events(1, "Before"))).position!;
    for (let i = 0; i < 10; i += 1) await store.client.appendToStream(i % 2 ? a : b, events(2));
    const writer = (async () => {
      for (let i = 0; i < 20; i += 1) await store.client.appendToStream(i % 2 ? b : a, events(1, "Live"));
    })();
    const subscription = store.client.subscribeToAll({
      fromPosition: start,
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const { received, caughtUpAt } = await take(subscription, 40);
    await writer;
    expect(caughtUpAt).toBeGreaterThanOrEqual(0);
    expect(received.every((e) => e.event!.streamId.startsWith(prefix))).toBe(true);
    expect(received.filter((e) => e.event!.type === "Before")).toHaveLength(0);
    const commits = received.map((e) => e.event!.position!.commit);
    for (let i = 1; i < commits.length; i += 1) expect(commits[i]!).toBeGreaterThan(commits[i - 1]!);
    expect(new Set(received.map((e) => e.event!.id)).size).toBe(40);
  });

  it("filters by event type prefix and by regex", async () => {
    const tag = uniqueStream("T").replace("-", "");
    const stream = uniqueStream("types");
    const start = (await store.client.appendToStream(stream, events(1, "Other"))).position!;
    await store.client.appendToStream(stream, [...events(2, `${tag}Created`), ...events(1, "Other"), ...events(1, `${tag}Shipped`)]);
    const byPrefix = await take(
      store.client.subscribeToAll({ fromPosition: start, filter: eventTypeFilter({ prefixes: [`${tag}Ship`, `${tag}Cre`] }) }),
      3,
    );
    expect(byPrefix.received.map((e) => e.event!.type)).toEqual([`${tag}Created`, `${tag}Created`, `${tag}Shipped`]);
    const byRegex = await take(
      store.client.subscribeToAll({ fromPosition: start, filter: eventTypeFilter({ regex: `^${tag}S` }) }),
      1,
    );
    expect(byRegex.received.map((e) => e.event!.type)).toEqual([`${tag}Shipped`]);
    const byStreamRegex = await take(
      store.client.subscribeToAll({ fromPosition: start, filter: streamNameFilter({ regex: `^${stream}$` }) }),
      4,
    );
    expect(byStreamRegex.received.map((e) => e.event!.streamId)).toEqual([stream, stream, stream, stream]);
  });

  it("reports checkpoints while filtering out non-matching events", async () => {
    const prefix = uniqueStream("chk");
    const noise = uniqueStream("noise");
    const start = (await store.client.appendToStream(noise, events(1))).position!;
    await store.client.appendToStream(noise, events(200));
    const checkpoints: Position[] = [];
    const subscription = store.client.subscribeToAll({
      fromPosition: start,
      filter: streamNameFilter({
        prefixes: [prefix],
        checkpointInterval: 1,
        checkpointReached: (_subscription, position) => {
          checkpoints.push(position);
        },
      }),
    });
    const pending = take(subscription, 1);
    const matching = await store.client.appendToStream(`${prefix}-x`, events(1));
    const { received } = await pending;
    expect(received[0]!.event!.streamId).toBe(`${prefix}-x`);
    expect(checkpoints.length).toBeGreaterThan(0);
    for (const checkpoint of checkpoints) {
      expect(checkpoint.commit).toBeGreaterThanOrEqual(start.commit);
      expect(checkpoint.commit).toBeLessThanOrEqual(matching.position!.commit);
    }
    const commits = checkpoints.map((c) => c.commit);
    expect(commits).toEqual([...commits].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
  });

  it("rejects an invalid filter regex with an error, and the server keeps serving", async () => {
    const subscription = store.client.subscribeToAll({ filter: streamNameFilter({ regex: "([" }) });
    const error = await new Promise((resolve) => subscription.on("error", resolve));
    expect(error).toBeInstanceOf(Error);
    const stream = uniqueStream("after");
    expect((await store.client.appendToStream(stream, events(1))).success).toBe(true);
  });
});
