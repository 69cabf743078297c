// Persistent subscriptions to $all with filters, including the projector's path: a group on
// $all filtered by event type or stream prefix, ack after work, nack "retry" on failure and
// parking once maxRetryCount is exhausted.
import { randomUUID } from "node:crypto";
import {
  START,
  eventTypeFilter,
  persistentSubscriptionToAllSettingsFromDefaults as allSettings,
  streamNameFilter,
  type PersistentSubscriptionToAllResolvedEvent,
} from "@eventstore/db-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, uniqueStream, type StoreUnderTest } from "./harness";
import { Inbox, append, eventually, n, uniqueGroup } from "./persistent-support";

type Delivered = PersistentSubscriptionToAllResolvedEvent;

let store: StoreUnderTest;
beforeAll(async () => {
  store = await openStore();
});
afterAll(async () => {
  await store?.close();
});

const subscribe = (group: string, bufferSize?: number) =>
  new Inbox<Delivered>(store.client.subscribeToPersistentSubscriptionToAll(group, bufferSize ? { bufferSize } : {}));
const info = (group: string) => store.client.getPersistentSubscriptionToAllInfo(group);

/** A prefix no other test uses: $all groups see every test's events otherwise. */
const uniquePrefix = () => `pa${randomUUID().replaceAll("-", "").slice(0, 12)}-`;

describe("persistent subscription to $all", () => {
  it("delivers only the filtered streams' events, backlog then live, in $all order", async () => {
    const prefix = uniquePrefix();
    const [first, second] = [`${prefix}one`, `${prefix}two`];
    await append(store.client, first, 2, 0);
    await append(store.client, uniqueStream("other"), 3);
    await append(store.client, second, 2, 2);
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToAll(group, allSettings({ startFrom: START }), {
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const inbox = subscribe(group);
    const backlog = await inbox.take(4);
    expect(backlog.map(n)).toEqual([0, 1, 2, 3]);
    expect(backlog.map((delivered) => delivered.event!.streamId)).toEqual([first, first, second, second]);
    const positions = backlog.map((delivered) => delivered.event!.position!.commit);
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    await inbox.subscription.ack(...backlog);

    await append(store.client, uniqueStream("other"), 1);
    await append(store.client, second, 1, 4);
    const [live] = await inbox.take(1);
    expect(n(live!)).toBe(4);
    await inbox.subscription.ack(live!);
    expect(inbox.pending).toBe(0);
    await inbox.subscription.unsubscribe();
  });

  it("filters by event type with a regex", async () => {
    const prefix = uniquePrefix();
    const stream = `${prefix}s`;
    const wanted = `${prefix.replace("-", "")}Wanted`;
    await append(store.client, stream, 2, 0, wanted);
    await append(store.client, stream, 2, 2, `${prefix.replace("-", "")}Ignored`);
    await append(store.client, stream, 1, 4, wanted);
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToAll(group, allSettings({ startFrom: START }), {
      filter: eventTypeFilter({ regex: `^${wanted}$` }),
    });
    const inbox = subscribe(group);
    const got = await inbox.take(3);
    expect(got.map(n)).toEqual([0, 1, 4]);
    expect(new Set(got.map((delivered) => delivered.event!.type))).toEqual(new Set([wanted]));
    await inbox.subscription.ack(...got);
    await inbox.subscription.unsubscribe();
  });

  it("reports $all groups through GetInfo and List", async () => {
    const prefix = uniquePrefix();
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToAll(group, allSettings({ startFrom: START, maxRetryCount: 4 }), {
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const found = await info(group);
    expect(found.eventSource).toBe("$all");
    expect(found.settings.maxRetryCount).toBe(4);
    expect(found.settings.startFrom).toBe(START);
    const listed = await store.client.listPersistentSubscriptionsToAll();
    expect(listed.some((entry) => entry.groupName === group)).toBe(true);
  });

  it("projector path: ack after work, retry on failure, park after maxRetryCount, others flow on", async () => {
    const prefix = uniquePrefix();
    const eventType = `${prefix.replace("-", "")}Happened`;
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToAll(
      group,
      allSettings({ startFrom: START, maxRetryCount: 2, checkPointLowerBound: 1, checkPointAfter: 50 }),
      { filter: eventTypeFilter({ prefixes: [eventType] }) },
    );
    const poison = 3;
    const projected: number[] = [];
    const attempts = new Map<number, number[]>();
    const subscription = store.client.subscribeToPersistentSubscriptionToAll(group);
    subscription.on("data", (message) => {
      const value = n(message);
      attempts.set(value, [...(attempts.get(value) ?? []), message.retryCount]);
      if (value === poison) void subscription.nack("retry", "projection failed", message);
      else {
        projected.push(value);
        void subscription.ack(message);
      }
    });
    for (let i = 0; i < 6; i++) await append(store.client, `${prefix}item-${i % 2}`, 1, i, eventType);

    await eventually(async () => ((await info(group)).stats.parkedMessageCount === 1n ? true : undefined), "poison event parked");
    await eventually(async () => (projected.length === 5 ? true : undefined), "the other events projected");
    expect([...projected].sort()).toEqual([0, 1, 2, 4, 5]);
    expect(attempts.get(poison)).toEqual([0, 1, 2]);
    const parkedStream = `$persistentsubscription-$all::${group}-parked`;
    const parked = [];
    for await (const entry of store.client.readStream(parkedStream, { resolveLinkTos: true })) parked.push(entry);
    expect(parked.map((entry) => n(entry as never))).toEqual([poison]);
    await subscription.unsubscribe();
  });

  it("pinned: all events of one stream go to the same consumer", async () => {
    const prefix = uniquePrefix();
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToAll(group, allSettings({ startFrom: START, consumerStrategyName: "Pinned" }), {
      filter: streamNameFilter({ prefixes: [prefix] }),
    });
    const byStream = new Map<string, Set<string>>();
    let count = 0;
    const consumers = ["a", "b"].map((name) => {
      const subscription = store.client.subscribeToPersistentSubscriptionToAll(group, { bufferSize: 50 });
      subscription.on("data", (message) => {
        const stream = message.event!.streamId;
        byStream.set(stream, (byStream.get(stream) ?? new Set()).add(name));
        count++;
        void subscription.ack(message);
      });
      return subscription;
    });
    await eventually(async () => ((await info(group)).connections.length === 2 ? true : undefined), "two connections");
    for (let i = 0; i < 8; i++) await append(store.client, `${prefix}s${i}`, 3);
    await eventually(async () => (count === 24 ? true : undefined), "24 deliveries");
    for (const consumersOfStream of byStream.values()) expect(consumersOfStream.size).toBe(1);
    for (const subscription of consumers) await subscription.unsubscribe();
  });

  it("refuses an invalid filter regex and keeps working", async () => {
    const group = uniqueGroup();
    const refused = await store.client
      .createPersistentSubscriptionToAll(group, allSettings(), { filter: streamNameFilter({ regex: "([unclosed" }) })
      .then(() => undefined, (e) => e);
    expect(refused).toBeInstanceOf(Error);
    await store.client.createPersistentSubscriptionToAll(group, allSettings(), { filter: streamNameFilter({ prefixes: [uniquePrefix()] }) });
    expect((await info(group)).groupName).toBe(group);
  });
});
