// Persistent subscriptions to a stream, through the official client's public API only, so
// the suite also runs against a real EventStoreDB (EVENTMALL_CONFORMANCE_ESDB).
import {
  END,
  ErrorType,
  START,
  persistentSubscriptionToStreamSettingsFromDefaults as streamSettings,
  type PersistentSubscriptionToStreamResolvedEvent,
} from "@eventstore/db-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, uniqueStream, type StoreUnderTest } from "./harness";
import { Inbox, append, eventually, n, uniqueGroup, unknownDelivery } from "./persistent-support";

type Delivered = PersistentSubscriptionToStreamResolvedEvent;

let store: StoreUnderTest;
beforeAll(async () => {
  store = await openStore();
});
afterAll(async () => {
  await store?.close();
});

function subscribe(stream: string, group: string, bufferSize?: number) {
  const subscription = store.client.subscribeToPersistentSubscriptionToStream(stream, group, bufferSize ? { bufferSize } : {});
  return new Inbox<Delivered>(subscription);
}

const info = (stream: string, group: string) => store.client.getPersistentSubscriptionToStreamInfo(stream, group);

describe("persistent subscription to a stream", () => {
  it("delivers the backlog, then live events, in order; acks advance the checkpoint", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await append(store.client, stream, 5);
    await store.client.createPersistentSubscriptionToStream(
      stream,
      group,
      streamSettings({ startFrom: START, checkPointLowerBound: 1, checkPointAfter: 50 }),
    );
    const inbox = subscribe(stream, group);
    const backlog = await inbox.take(5);
    expect(backlog.map(n)).toEqual([0, 1, 2, 3, 4]);
    expect(backlog.map((delivered) => delivered.retryCount)).toEqual([0, 0, 0, 0, 0]);
    await inbox.subscription.ack(...backlog);

    await append(store.client, stream, 3, 5);
    const live = await inbox.take(3);
    expect(live.map(n)).toEqual([5, 6, 7]);
    expect(live.map((delivered) => delivered.event!.revision)).toEqual([5n, 6n, 7n]);
    await inbox.subscription.ack(...live);

    const checkpointed = await eventually(async () => {
      const { stats } = await info(stream, group);
      return stats.lastCheckpointedEventRevision === 7n ? stats : undefined;
    }, "checkpoint at revision 7");
    expect(checkpointed.lastKnownEventRevision).toBe(7n);
    expect(checkpointed.totalInFlightMessages).toBe(0);
    await inbox.subscription.unsubscribe();
  });

  it("starts at the end or at a revision when asked", async () => {
    const stream = uniqueStream("ps");
    await append(store.client, stream, 3);
    const fromEnd = uniqueGroup();
    const fromRevision = uniqueGroup();
    await store.client.createPersistentSubscriptionToStream(stream, fromEnd, streamSettings({ startFrom: END }));
    await store.client.createPersistentSubscriptionToStream(stream, fromRevision, streamSettings({ startFrom: BigInt(2) }));
    const endInbox = subscribe(stream, fromEnd);
    const revisionInbox = subscribe(stream, fromRevision);
    await Promise.all([endInbox.confirmed, revisionInbox.confirmed]);
    expect((await revisionInbox.take(1)).map(n)).toEqual([2]);
    await append(store.client, stream, 1, 3);
    expect((await endInbox.take(1)).map(n)).toEqual([3]);
    expect((await revisionInbox.take(1)).map(n)).toEqual([3]);
    await endInbox.subscription.unsubscribe();
    await revisionInbox.subscription.unsubscribe();
  });

  it("reports its settings through GetInfo and List", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    const settings = streamSettings({
      startFrom: START,
      messageTimeout: 1234,
      maxRetryCount: 3,
      checkPointAfter: 500,
      checkPointLowerBound: 2,
      checkPointUpperBound: 20,
      maxSubscriberCount: 5,
      readBatchSize: 7,
      historyBufferSize: 50,
      liveBufferSize: 40,
      consumerStrategyName: "DispatchToSingle",
      resolveLinkTos: true,
    });
    await store.client.createPersistentSubscriptionToStream(stream, group, settings);
    const found = await info(stream, group);
    expect(found.eventSource).toBe(stream);
    expect(found.groupName).toBe(group);
    expect(found.settings).toEqual(settings);

    const listed = await store.client.listPersistentSubscriptionsToStream(stream);
    expect(listed.map((entry) => entry.groupName)).toEqual([group]);
    const all = await store.client.listAllPersistentSubscriptions();
    expect(all.some((entry) => entry.groupName === group && entry.eventSource === stream)).toBe(true);
  });

  it("refuses a second group with the same name, with the stream and group in the error", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings());
    const error = await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings()).catch((e) => e);
    expect(error.type).toBe(ErrorType.PERSISTENT_SUBSCRIPTION_EXISTS);
    expect(error.streamName).toBe(stream);
    expect(error.groupName).toBe(group);
  });

  it("answers does-not-exist for every operation on a missing group", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    const expectMissing = async (operation: Promise<unknown>) => {
      const error = await operation.then(
        () => undefined,
        (e) => e,
      );
      expect(error?.type).toBe(ErrorType.PERSISTENT_SUBSCRIPTION_DOES_NOT_EXIST);
    };
    await expectMissing(info(stream, group));
    await expectMissing(store.client.updatePersistentSubscriptionToStream(stream, group, streamSettings()));
    await expectMissing(store.client.deletePersistentSubscriptionToStream(stream, group));
    await expectMissing(store.client.replayParkedMessagesToStream(stream, group));
    await expectMissing(store.client.listPersistentSubscriptionsToStream(stream));
    const inbox = subscribe(stream, group);
    const error = (await inbox.dropped()) as Error & { type?: string; groupName?: string };
    expect(error.type).toBe(ErrorType.PERSISTENT_SUBSCRIPTION_DOES_NOT_EXIST);
    expect(error.groupName).toBe(group);
  });

  it("retries a nacked message with a growing retry count, then parks it after maxRetryCount", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await append(store.client, stream, 3);
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings({ startFrom: START, maxRetryCount: 2 }));
    const inbox = subscribe(stream, group);
    const first = await inbox.take(3);
    await inbox.subscription.ack(first[0]!, first[2]!);
    const retryCounts = [first[1]!.retryCount];
    let failing = first[1]!;
    for (let attempt = 0; attempt < 2; attempt++) {
      await inbox.subscription.nack("retry", "handler failed", failing);
      [failing] = await inbox.take(1);
      expect(n(failing)).toBe(1);
      retryCounts.push(failing.retryCount);
    }
    expect(retryCounts).toEqual([0, 1, 2]);
    await inbox.subscription.nack("retry", "handler failed", failing);

    await eventually(async () => ((await info(stream, group)).stats.parkedMessageCount === 1n ? true : undefined), "one parked message");
    const parkedStream = `$persistentsubscription-${stream}::${group}-parked`;
    const parked = [];
    for await (const entry of store.client.readStream(parkedStream, { resolveLinkTos: true })) parked.push(entry);
    expect(parked).toHaveLength(1);
    expect(parked[0]!.event?.streamId).toBe(stream);
    expect(parked[0]!.event?.revision).toBe(1n);
    expect(parked[0]!.link?.type).toBe("$>");

    await store.client.replayParkedMessagesToStream(stream, group);
    const [replayed] = await inbox.take(1);
    expect(n(replayed!)).toBe(1);
    expect(replayed!.event?.revision).toBe(1n);
    await inbox.subscription.ack(replayed!);
    await eventually(async () => ((await info(stream, group)).stats.parkedMessageCount === 0n ? true : undefined), "no parked message");
    await inbox.subscription.unsubscribe();
  });

  it("parks on nack park, drops on nack skip, and ignores acks and nacks of unknown ids", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await append(store.client, stream, 2);
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings({ startFrom: START }));
    const inbox = subscribe(stream, group);
    const [toPark, toSkip] = await inbox.take(2);
    await inbox.subscription.ack(unknownDelivery());
    await inbox.subscription.nack("retry", "not mine", unknownDelivery());
    await inbox.subscription.nack("park", "poison", toPark!);
    await inbox.subscription.nack("skip", "irrelevant", toSkip!);
    await eventually(async () => {
      const { stats } = await info(stream, group);
      return stats.parkedMessageCount === 1n && stats.totalInFlightMessages === 0 ? true : undefined;
    }, "one parked message and nothing in flight");

    await append(store.client, stream, 1, 2);
    const [next] = await inbox.take(1);
    expect(n(next!)).toBe(2);
    await inbox.subscription.ack(next!);
    await inbox.subscription.unsubscribe();
  });

  it("redelivers a message that is not acked within the message timeout", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await append(store.client, stream, 1);
    await store.client.createPersistentSubscriptionToStream(
      stream,
      group,
      streamSettings({ startFrom: START, messageTimeout: 200, maxRetryCount: 5 }),
    );
    const inbox = subscribe(stream, group);
    const [first] = await inbox.take(1);
    expect(first!.retryCount).toBe(0);
    const [again] = await inbox.take(1);
    expect(n(again!)).toBe(0);
    expect(again!.retryCount).toBe(1);
    await inbox.subscription.ack(again!);
    await inbox.subscription.unsubscribe();
  });

  it("parks a message that keeps timing out once maxRetryCount is spent", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await append(store.client, stream, 1);
    await store.client.createPersistentSubscriptionToStream(
      stream,
      group,
      streamSettings({ startFrom: START, messageTimeout: 100, maxRetryCount: 1 }),
    );
    const inbox = subscribe(stream, group);
    const deliveries = await inbox.take(2);
    expect(deliveries.map((delivered) => delivered.retryCount)).toEqual([0, 1]);
    await eventually(async () => ((await info(stream, group)).stats.parkedMessageCount === 1n ? true : undefined), "parked after timeouts");
    await inbox.subscription.unsubscribe();
  });

  it("checkpoints once maxCheckpointCount messages are done, without waiting for checkPointAfter", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await append(store.client, stream, 5);
    await store.client.createPersistentSubscriptionToStream(
      stream,
      group,
      streamSettings({ startFrom: START, checkPointAfter: 600_000, checkPointLowerBound: 5, checkPointUpperBound: 5 }),
    );
    const inbox = subscribe(stream, group);
    const delivered = await inbox.take(5);
    await inbox.subscription.ack(...delivered.slice(0, 3));
    await eventually(async () => ((await info(stream, group)).stats.totalInFlightMessages === 2 ? true : undefined), "three acks processed");
    expect((await info(stream, group)).stats.lastCheckpointedEventRevision).toBeUndefined();
    await inbox.subscription.ack(...delivered.slice(3));
    await eventually(
      async () => ((await info(stream, group)).stats.lastCheckpointedEventRevision === 4n ? true : undefined),
      "checkpoint at 4",
    );
    await inbox.subscription.unsubscribe();
  });

  it("takes no action on nack stop, as EventStoreDB: the message comes back after its timeout", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await append(store.client, stream, 1);
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings({ startFrom: START, messageTimeout: 200 }));
    const inbox = subscribe(stream, group);
    const [first] = await inbox.take(1);
    await inbox.subscription.nack("stop", "stopping", first!);
    const [again] = await inbox.take(1);
    expect(n(again!)).toBe(0);
    expect(again!.retryCount).toBe(1);
    await inbox.subscription.ack(again!);
    await inbox.subscription.unsubscribe();
  });

  it("replays parked messages only up to stopAt", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await append(store.client, stream, 3);
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings({ startFrom: START }));
    const inbox = subscribe(stream, group);
    const delivered = await inbox.take(3);
    for (const message of delivered) await inbox.subscription.nack("park", "later", message);
    await eventually(async () => ((await info(stream, group)).stats.parkedMessageCount === 3n ? true : undefined), "three parked");

    await store.client.replayParkedMessagesToStream(stream, group, { stopAt: 2 });
    const replayed = await inbox.take(2);
    expect(replayed.map(n).sort()).toEqual([0, 1]);
    await inbox.subscription.ack(...replayed);
    await eventually(async () => ((await info(stream, group)).stats.parkedMessageCount === 1n ? true : undefined), "one left parked");
    await inbox.subscription.unsubscribe();
  });
});

describe("consumers of one group", () => {
  it("round robin: every event goes to exactly one of several consumers, and both get some", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings({ startFrom: START }));
    const received: { consumer: string; n: number }[] = [];
    const consumers = ["a", "b"].map((name) => {
      const subscription = store.client.subscribeToPersistentSubscriptionToStream(stream, group, { bufferSize: 5 });
      subscription.on("data", (message) => {
        received.push({ consumer: name, n: n(message) });
        void subscription.ack(message);
      });
      return subscription;
    });
    await eventually(async () => ((await info(stream, group)).connections.length === 2 ? true : undefined), "two connections");
    await append(store.client, stream, 20);
    await eventually(async () => (received.length >= 20 ? true : undefined), "20 deliveries");
    expect(received.map((entry) => entry.n).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(received.filter((entry) => entry.consumer === "a").length).toBeGreaterThan(0);
    expect(received.filter((entry) => entry.consumer === "b").length).toBeGreaterThan(0);
    for (const subscription of consumers) await subscription.unsubscribe();
  });

  it("dispatch to single: the first consumer gets everything while it has room", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToStream(
      stream,
      group,
      streamSettings({ startFrom: START, consumerStrategyName: "DispatchToSingle" }),
    );
    const first = subscribe(stream, group, 10);
    await first.confirmed;
    await eventually(async () => ((await info(stream, group)).connections.length === 1 ? true : undefined), "first connection");
    const second = subscribe(stream, group, 10);
    await second.confirmed;
    await eventually(async () => ((await info(stream, group)).connections.length === 2 ? true : undefined), "second connection");
    await append(store.client, stream, 5);
    const got = await first.take(5);
    expect(got.map(n)).toEqual([0, 1, 2, 3, 4]);
    expect(second.pending).toBe(0);
    await first.subscription.ack(...got);
    await first.subscription.unsubscribe();
    await second.subscription.unsubscribe();
  });

  it("a consumer's unacked messages go to another consumer when it leaves", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await append(store.client, stream, 2);
    await store.client.createPersistentSubscriptionToStream(
      stream,
      group,
      streamSettings({ startFrom: START, consumerStrategyName: "DispatchToSingle" }),
    );
    const leaving = subscribe(stream, group);
    await leaving.take(2);
    const staying = subscribe(stream, group);
    await staying.confirmed;
    await leaving.subscription.unsubscribe();
    const redelivered = await staying.take(2);
    expect(redelivered.map(n).sort()).toEqual([0, 1]);
    await staying.subscription.ack(...redelivered);
    await staying.subscription.unsubscribe();
  });

  it("refuses a consumer beyond maxSubscriberCount", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings({ maxSubscriberCount: 1 }));
    const first = subscribe(stream, group);
    await first.confirmed;
    const second = subscribe(stream, group);
    const error = (await second.dropped()) as Error & { type?: string; streamName?: string; groupName?: string };
    expect(error.type).toBe(ErrorType.MAXIMUM_SUBSCRIBERS_REACHED);
    expect(error.streamName).toBe(stream);
    expect(error.groupName).toBe(group);
    expect(first.error).toBeUndefined();
    await first.subscription.unsubscribe();
  });
});

describe("managing groups", () => {
  it("update changes the settings and drops connected consumers; the group resumes where it was", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await append(store.client, stream, 2);
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings({ startFrom: START, checkPointLowerBound: 1, checkPointAfter: 50 }));
    const before = subscribe(stream, group);
    const firstTwo = await before.take(2);
    await before.subscription.ack(...firstTwo);
    await eventually(async () => ((await info(stream, group)).stats.lastCheckpointedEventRevision === 1n ? true : undefined), "checkpoint at 1");

    const updated = streamSettings({ startFrom: START, maxRetryCount: 7, messageTimeout: 4321, checkPointLowerBound: 1, checkPointAfter: 50 });
    await store.client.updatePersistentSubscriptionToStream(stream, group, updated);
    const error = (await before.dropped()) as Error & { type?: string };
    expect(error.type).toBe(ErrorType.PERSISTENT_SUBSCRIPTION_DROPPED);
    const after = await info(stream, group);
    expect(after.settings.maxRetryCount).toBe(7);
    expect(after.settings.messageTimeout).toBe(4321);

    await append(store.client, stream, 1, 2);
    const resumed = subscribe(stream, group);
    const [next] = await resumed.take(1);
    expect(n(next!)).toBe(2);
    await resumed.subscription.ack(next!);
    await resumed.subscription.unsubscribe();
  });

  it("delete drops consumers and removes the group, its checkpoint and its parked messages", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await append(store.client, stream, 2);
    const settings = streamSettings({ startFrom: START, checkPointLowerBound: 1, checkPointAfter: 50 });
    await store.client.createPersistentSubscriptionToStream(stream, group, settings);
    const inbox = subscribe(stream, group);
    const [toAck, toPark] = await inbox.take(2);
    await inbox.subscription.ack(toAck!);
    await inbox.subscription.nack("park", "bad", toPark!);
    await eventually(async () => {
      const { stats } = await info(stream, group);
      return stats.lastCheckpointedEventRevision === 1n && stats.parkedMessageCount === 1n ? true : undefined;
    }, "checkpoint at 1 and one parked message");
    await store.client.deletePersistentSubscriptionToStream(stream, group);
    const dropped = (await inbox.dropped()) as Error & { type?: string };
    expect(dropped.type).toBe(ErrorType.PERSISTENT_SUBSCRIPTION_DROPPED);
    const error = await info(stream, group).catch((e) => e);
    expect(error.type).toBe(ErrorType.PERSISTENT_SUBSCRIPTION_DOES_NOT_EXIST);
    expect(await store.client.listPersistentSubscriptionsToStream(stream).catch(() => [])).toEqual([]);
    // The name is free again, and the new group starts afresh.
    await store.client.createPersistentSubscriptionToStream(stream, group, settings);
    expect((await info(stream, group)).stats.parkedMessageCount).toBe(0n);
    const again = subscribe(stream, group);
    expect((await again.take(2)).map(n)).toEqual([0, 1]);
    await again.subscription.unsubscribe();
  });

  it("restarting the subsystem drops consumers and keeps groups, which resume", async () => {
    const stream = uniqueStream("ps");
    const group = uniqueGroup();
    await append(store.client, stream, 1);
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings({ startFrom: START, checkPointLowerBound: 1, checkPointAfter: 50 }));
    const before = subscribe(stream, group);
    const [first] = await before.take(1);
    await before.subscription.ack(first!);
    await eventually(async () => ((await info(stream, group)).stats.lastCheckpointedEventRevision === 0n ? true : undefined), "checkpoint at 0");

    await store.client.restartPersistentSubscriptionSubsystem();
    await before.dropped();
    await eventually(async () => (await info(stream, group).then(() => true).catch(() => undefined)), "group back after restart");
    await append(store.client, stream, 1, 1);
    const after = subscribe(stream, group);
    const [next] = await after.take(1);
    expect(n(next!)).toBe(1);
    await after.subscription.ack(next!);
    await after.subscription.unsubscribe();
  });
});
