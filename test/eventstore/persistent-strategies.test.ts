// Conformance: persistent-subscription settings EventStoreDB accepts, and the consumer strategies
// KurrentDB ships. PinnedByCorrelation cannot be chosen through @eventstore/db-client 6.x (it knows
// only the three older names), so that group is created with the client's own generated stubs.
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { credentials, type ServiceError } from "@grpc/grpc-js";
import { jsonEvent, persistentSubscriptionToStreamSettingsFromDefaults as streamSettings, START } from "@eventstore/db-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, uniqueStream, type StoreUnderTest } from "./harness";
import { Inbox, append, eventually, uniqueGroup } from "./persistent-support";

const require = createRequire(import.meta.url);
const persistentGrpc = require("@eventstore/db-client/generated/persistent_grpc_pb");
const persistentPb = require("@eventstore/db-client/generated/persistent_pb");
const sharedPb = require("@eventstore/db-client/generated/shared_pb");

let store: StoreUnderTest;
beforeAll(async () => {
  store = await openStore();
});
afterAll(async () => {
  await store?.close();
});

describe("settings EventStoreDB accepts", () => {
  it("a maxCheckpointCount below minCheckpointCount is accepted and reported as given", async () => {
    const stream = uniqueStream("ps-settings");
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings({ checkPointLowerBound: 100, checkPointUpperBound: 10 }));
    const info = await store.client.getPersistentSubscriptionToStreamInfo(stream, group);
    expect(info.settings.checkPointLowerBound).toBe(100);
    expect(info.settings.checkPointUpperBound).toBe(10);
    await append(store.client, stream, 3);
    const inbox = new Inbox(store.client.subscribeToPersistentSubscriptionToStream(stream, group));
    try {
      const delivered = await inbox.take(3);
      await inbox.subscription.ack(...delivered);
    } finally {
      await inbox.subscription.unsubscribe();
    }
  });
});

function createPinnedByCorrelation(stream: string, group: string): Promise<ServiceError | null> {
  const address = new URL(store.connectionString.replace(/^esdb(\+discover)?:/, "http:")).host.split(",")[0]!;
  const raw = new persistentGrpc.PersistentSubscriptionsClient(address, credentials.createInsecure());
  const defaults = streamSettings({ startFrom: START });
  const settings = new persistentPb.CreateReq.Settings()
    .setResolveLinks(false)
    .setExtraStatistics(false)
    .setMaxRetryCount(defaults.maxRetryCount)
    .setMinCheckpointCount(defaults.checkPointLowerBound)
    .setMaxCheckpointCount(defaults.checkPointUpperBound)
    .setMaxSubscriberCount(0)
    .setLiveBufferSize(defaults.liveBufferSize)
    .setReadBatchSize(defaults.readBatchSize)
    .setHistoryBufferSize(defaults.historyBufferSize)
    .setMessageTimeoutMs(defaults.messageTimeout)
    .setCheckpointAfterMs(defaults.checkPointAfter)
    .setConsumerStrategy("PinnedByCorrelation");
  const options = new persistentPb.CreateReq.Options()
    .setGroupName(group)
    .setStream(
      new persistentPb.CreateReq.StreamOptions()
        .setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(Buffer.from(stream)))
        .setStart(new sharedPb.Empty()),
    )
    .setSettings(settings);
  return new Promise((resolve) =>
    raw.create(new persistentPb.CreateReq().setOptions(options), (error: ServiceError | null) => {
      raw.close();
      resolve(error);
    }),
  );
}

describe("PinnedByCorrelation", () => {
  it("is accepted, reported, and keeps every event of one $correlationId with one consumer", async () => {
    const stream = uniqueStream("ps-correlation");
    const group = uniqueGroup();
    expect(await createPinnedByCorrelation(stream, group)).toBeNull();
    const info = await store.client.getPersistentSubscriptionToStreamInfo(stream, group);
    expect(info.settings.consumerStrategyName).toBe("PinnedByCorrelation");

    const consumers = [0, 1].map(() => new Inbox(store.client.subscribeToPersistentSubscriptionToStream(stream, group, { bufferSize: 100 })));
    try {
      await Promise.all(consumers.map((consumer) => consumer.confirmed));
      await eventually(
        async () => ((await store.client.getPersistentSubscriptionToStreamInfo(stream, group)).connections.length === 2 ? true : undefined),
        "two consumers",
      );
      const correlations = Array.from({ length: 20 }, () => randomUUID());
      const sent = correlations.flatMap((correlation) =>
        [0, 1, 2].map((i) => jsonEvent({ type: "Step", data: { correlation, i }, metadata: { $correlationId: correlation } })),
      );
      await store.client.appendToStream(stream, sent);
      const owner = new Map<string, number>();
      let received = 0;
      while (received < sent.length) {
        for (const [index, consumer] of consumers.entries()) {
          const batch = await consumer.take(Math.min(consumer.pending, sent.length - received), 50).catch(() => []);
          for (const delivered of batch) {
            const correlation = (delivered.event!.data as { correlation: string }).correlation;
            expect(owner.get(correlation) ?? index).toBe(index);
            owner.set(correlation, index);
            received++;
          }
          if (batch.length > 0) await consumer.subscription.ack(...batch);
        }
        if (received < sent.length) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(owner.size).toBe(correlations.length);
      // Twenty keys hashed over two consumers: both get work (all on one has odds of 1 in 500,000).
      expect(new Set(owner.values()).size).toBe(2);
    } finally {
      for (const consumer of consumers) await consumer.subscription.unsubscribe();
    }
  });
});

describe("extraStatistics", () => {
  async function connectionAfterAcks(extraStatistics: boolean) {
    const stream = uniqueStream("ps-stats");
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings({ startFrom: START, extraStatistics }));
    await append(store.client, stream, 4);
    const inbox = new Inbox(store.client.subscribeToPersistentSubscriptionToStream(stream, group));
    try {
      await inbox.subscription.ack(...(await inbox.take(4)));
      return await eventually(async () => {
        const [connection] = (await store.client.getPersistentSubscriptionToStreamInfo(stream, group)).connections;
        return connection && (!extraStatistics || connection.extraStatistics) ? connection : undefined;
      }, "the connection's statistics");
    } finally {
      await inbox.subscription.unsubscribe();
    }
  }

  it("reports the connection's latency measurements when the group asks for them", async () => {
    const connection = await connectionAfterAcks(true);
    for (const key of ["mean", "median", "fastest", "quintile 1", "quintile 3", "quintile 5", "99%", "highest"] as const) {
      expect(connection.extraStatistics!.get(key), key).toBeTypeOf("bigint");
    }
    expect(connection.extraStatistics!.get("fastest")!).toBeLessThanOrEqual(connection.extraStatistics!.get("highest")!);
  });

  it("reports none without extraStatistics", async () => {
    expect((await connectionAfterAcks(false)).extraStatistics).toBeUndefined();
  });
});
