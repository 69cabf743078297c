// Conformance: the standard system projections. $by_category links every event of "<category>-<id>"
// into $ce-<category>, $by_event_type every event of type T into $et-<T>, $streams the first event
// of every stream; the link streams are readable (links resolved on request) and subscribable,
// catch-up and persistent. A real node writes the links asynchronously, so reads poll. They are
// stopped until enabled, as on a node with EventStoreDB's defaults.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BACKWARDS,
  END,
  START,
  EventStoreDBClient,
  StreamNotFoundError,
  jsonEvent,
  persistentSubscriptionToStreamSettingsFromDefaults as streamSettings,
  type ResolvedEvent,
} from "@eventstore/db-client";
import { openStore, type StoreUnderTest } from "./harness";
import { collect, external } from "./helpers";
import { startEventStore } from "../../services/eventstore/server";
import { Inbox, eventually, uniqueGroup } from "./persistent-support";

let store: StoreUnderTest;
beforeAll(async () => {
  store = await openStore();
  for (const name of ["$by_category", "$by_event_type", "$streams"]) await store.client.enableProjection(name);
});
afterAll(async () => {
  await store?.close();
});

const unique = () => randomUUID().replaceAll("-", "").slice(0, 16);
const happened = (type: string, n: number) => jsonEvent({ type, data: { n } });

async function readUntil(stream: string, count: number, resolveLinkTos: boolean): Promise<ResolvedEvent[]> {
  return eventually(async () => {
    const read = await collect(store.client.readStream(stream, { resolveLinkTos })).catch(() => []);
    return read.length >= count ? read : undefined;
  }, `${count} events in ${stream}`);
}

describe("$by_category", () => {
  it("links every event of a category's streams into $ce-<category>, in append order", async () => {
    const category = `cat${unique()}`;
    await store.client.appendToStream(`${category}-a`, [happened("Opened", 1), happened("Moved", 2)]);
    await store.client.appendToStream(`${category}-b`, [happened("Opened", 3)]);
    await store.client.appendToStream(`other${unique()}-a`, [happened("Opened", 4)]);

    const links = await readUntil(`$ce-${category}`, 3, false);
    expect(links.map((entry) => entry.event!.type)).toEqual(["$>", "$>", "$>"]);
    const resolved = await readUntil(`$ce-${category}`, 3, true);
    expect(resolved.map((entry) => entry.event!.streamId)).toEqual([`${category}-a`, `${category}-a`, `${category}-b`]);
    expect(resolved.map((entry) => (entry.event!.data as { n: number }).n)).toEqual([1, 2, 3]);
    expect(resolved.map((entry) => entry.link?.streamId)).toEqual(Array(3).fill(`$ce-${category}`));
    expect(resolved.map((entry) => entry.link?.revision)).toEqual([0n, 1n, 2n]);
  });

  it("feeds a catch-up subscription to $ce-<category> with history, then live events, resolved", async () => {
    const category = `cat${unique()}`;
    await store.client.appendToStream(`${category}-1`, [happened("Opened", 1)]);
    await readUntil(`$ce-${category}`, 1, false);
    const subscription = store.client.subscribeToStream(`$ce-${category}`, { fromRevision: START, resolveLinkTos: true });
    const seen: number[] = [];
    try {
      await store.client.appendToStream(`${category}-2`, [happened("Opened", 2)]);
      for await (const entry of subscription) {
        seen.push((entry.event!.data as { n: number }).n);
        if (seen.length === 2) break;
      }
    } finally {
      await subscription.unsubscribe();
    }
    expect(seen).toEqual([1, 2]);
  });
});

describe("$by_event_type", () => {
  it("links every event of a type into $et-<type>, whatever its stream", async () => {
    const type = `Happened${unique()}`;
    await store.client.appendToStream(`one${unique()}-x`, [happened(type, 1)]);
    await store.client.appendToStream(`two${unique()}-y`, [happened("Other", 9), happened(type, 2)]);
    const resolved = await readUntil(`$et-${type}`, 2, true);
    expect(resolved.map((entry) => (entry.event!.data as { n: number }).n)).toEqual([1, 2]);
    expect(resolved.every((entry) => entry.event!.type === type && entry.link?.type === "$>")).toBe(true);
  });

  it("delivers $et-<type> to a persistent subscription with resolveLinkTos", async () => {
    const type = `Persisted${unique()}`;
    const stream = `ps${unique()}-1`;
    await store.client.appendToStream(stream, [happened(type, 1), happened(type, 2), happened(type, 3)]);
    await readUntil(`$et-${type}`, 3, false);
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToStream(`$et-${type}`, group, streamSettings({ startFrom: START, resolveLinkTos: true }));
    const inbox = new Inbox(store.client.subscribeToPersistentSubscriptionToStream(`$et-${type}`, group));
    try {
      const delivered = await inbox.take(3);
      expect(delivered.map((entry) => entry.event!.streamId)).toEqual([stream, stream, stream]);
      expect(delivered.map((entry) => (entry.event!.data as { n: number }).n)).toEqual([1, 2, 3]);
      await inbox.subscription.ack(...delivered);
    } finally {
      await inbox.subscription.unsubscribe();
    }
  });
});

describe("$streams", () => {
  it("links the first event of each new stream, once", async () => {
    const stream = `streams${unique()}-1`;
    await store.client.appendToStream(stream, [happened("Opened", 1)]);
    await store.client.appendToStream(stream, [happened("Moved", 2)]);
    const mine = await eventually(async () => {
      const recent = await collect(store.client.readStream("$streams", { direction: BACKWARDS, fromRevision: END, maxCount: 50, resolveLinkTos: true }));
      const found = recent.filter((entry) => entry.event?.streamId === stream);
      return found.length > 0 ? found : undefined;
    }, "the stream in $streams");
    expect(mine.map((entry) => entry.event!.revision)).toEqual([0n]);
  });
});

describe("Projections.Enable and Disable", () => {
  it("a projection enabled again catches up on what was appended while it was stopped", async () => {
    const category = `cat${unique()}`;
    await store.client.disableProjection("$by_category");
    try {
      await store.client.appendToStream(`${category}-while-stopped`, [happened("Opened", 1)]);
    } finally {
      await store.client.enableProjection("$by_category");
    }
    await store.client.appendToStream(`${category}-after`, [happened("Opened", 2)]);
    const resolved = await readUntil(`$ce-${category}`, 2, true);
    expect(resolved.map((entry) => entry.event!.streamId)).toEqual([`${category}-while-stopped`, `${category}-after`]);
  });

  it.skipIf(external)("on a fresh node the system projections are stopped until enabled", async () => {
    const fresh = await startEventStore({ inMemory: true });
    const client = EventStoreDBClient.connectionString(fresh.connectionString);
    try {
      const category = `cat${unique()}`;
      await client.appendToStream(`${category}-1`, [happened("Opened", 1)]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await expect(collect(client.readStream(`$ce-${category}`))).rejects.toBeInstanceOf(StreamNotFoundError);
      await client.enableProjection("$by_category");
      const linked = await eventually(async () => {
        const read = await collect(client.readStream(`$ce-${category}`, { resolveLinkTos: true })).catch(() => []);
        return read.length > 0 ? read : undefined;
      }, "the link after enabling");
      expect(linked.map((entry) => entry.event!.streamId)).toEqual([`${category}-1`]);
    } finally {
      await client.dispose();
      await fresh.stop();
    }
  });

  it("refuses a projection this store does not have", async () => {
    await expect(store.client.enableProjection(`no-such-projection-${unique()}`)).rejects.toThrow();
  });
});
