// Conformance: what a fresh node's $all looks like. A real node writes system events before any
// client does (its epoch, its default users), no event sits at position 0, and persistent
// subscriptions to $all deliver system streams' events unless a filter excludes them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  START,
  excludeSystemEvents,
  persistentSubscriptionToAllSettingsFromDefaults as allSettings,
  streamNameFilter,
} from "@eventstore/db-client";
import { openStore, uniqueStream, type StoreUnderTest } from "./harness";
import { collect, events } from "./helpers";
import { Inbox, uniqueGroup } from "./persistent-support";

let store: StoreUnderTest;
beforeAll(async () => {
  store = await openStore();
});
afterAll(async () => {
  await store?.close();
});

describe("a fresh node's $all", () => {
  it("holds system events before any client has written", async () => {
    const systemEvents = (await collect(store.client.readAll({ maxCount: 50 }))).filter((entry) => entry.event!.streamId.startsWith("$"));
    expect(systemEvents.length).toBeGreaterThan(0);
  });

  it("puts no event at position 0, and positions grow strictly", async () => {
    await store.client.appendToStream(uniqueStream("fresh"), events(3));
    const all = await collect(store.client.readAll({ maxCount: 200 }));
    const positions = all.map((entry) => entry.event!.position!.commit);
    expect(positions[0]).toBeGreaterThan(0n);
    for (let i = 1; i < positions.length; i++) expect(positions[i]!).toBeGreaterThan(positions[i - 1]!);
    // Reading from START and from the first event's position give the same first event.
    const [fromFirst] = await collect(store.client.readAll({ fromPosition: all[0]!.event!.position!, maxCount: 1 }));
    expect(fromFirst!.event!.id).toBe(all[0]!.event!.id);
  });
});

describe("persistent subscriptions to $all", () => {
  it("deliver system streams' events, as a real node does", async () => {
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToAll(group, allSettings({ startFrom: START }));
    const inbox = new Inbox(store.client.subscribeToPersistentSubscriptionToAll(group));
    try {
      const delivered = await inbox.take(1);
      expect(delivered[0]!.event!.streamId.startsWith("$")).toBe(true);
      await inbox.subscription.ack(...delivered);
    } finally {
      await inbox.subscription.unsubscribe();
      await store.client.deletePersistentSubscriptionToAll(group);
    }
  });

  it("apply their filter to system events too: excludeSystemEvents keeps only user events", async () => {
    const stream = uniqueStream("ps-all-filtered");
    await store.client.appendToStream(stream, events(2, "UserThing"));
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToAll(group, allSettings({ startFrom: START }), { filter: excludeSystemEvents() });
    const inbox = new Inbox(store.client.subscribeToPersistentSubscriptionToAll(group, { bufferSize: 500 }));
    try {
      let seen = 0;
      while (seen < 2) {
        const [next] = await inbox.take(1);
        expect(next!.event!.type.startsWith("$")).toBe(false);
        if (next!.event!.streamId === stream) seen++;
        await inbox.subscription.ack(next!);
      }
    } finally {
      await inbox.subscription.unsubscribe();
      await store.client.deletePersistentSubscriptionToAll(group);
    }
  });

  it("a stream-name prefix filter selects system streams when asked", async () => {
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToAll(group, allSettings({ startFrom: START }), {
      filter: streamNameFilter({ prefixes: ["$user"] }),
    });
    const inbox = new Inbox(store.client.subscribeToPersistentSubscriptionToAll(group));
    try {
      const [delivered] = await inbox.take(1);
      expect(delivered!.event!.streamId.startsWith("$user")).toBe(true);
      await inbox.subscription.ack(delivered!);
    } finally {
      await inbox.subscription.unsubscribe();
      await store.client.deletePersistentSubscriptionToAll(group);
    }
  });
});
