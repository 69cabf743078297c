// Groups, checkpoints and parked messages survive a restart of the embedded store on the same
// data file. Uses embedded internals (a file-backed store), so it is skipped against a real server.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import {
  EventStoreDBClient,
  START,
  persistentSubscriptionToAllSettingsFromDefaults as allSettings,
  persistentSubscriptionToStreamSettingsFromDefaults as streamSettings,
  streamNameFilter,
  type PersistentSubscriptionToAllResolvedEvent,
  type PersistentSubscriptionToStreamResolvedEvent,
} from "@eventstore/db-client";
import { afterEach, describe, expect, it } from "vitest";
import { startEventStore, type RunningEventStore } from "../../services/eventstore/server";
import { Inbox, append, eventually, n, uniqueGroup } from "./persistent-support";

const external = !!process.env.EVENTMALL_CONFORMANCE_ESDB;

let directory: string | undefined;
let running: { store: RunningEventStore; client: EventStoreDBClient } | undefined;

async function start(dataFile: string) {
  const store = await startEventStore({ host: "127.0.0.1", port: 0, dataFile });
  running = { store, client: EventStoreDBClient.connectionString(store.connectionString) };
  return running;
}

async function stop() {
  if (!running) return;
  await running.client.dispose();
  await running.store.stop();
  running = undefined;
}

afterEach(async () => {
  await stop();
  if (directory) await rm(directory, { recursive: true, force: true });
  directory = undefined;
});

describe.skipIf(external)("persistent subscriptions across a restart", () => {
  it("keep their configs, resume after their checkpoints and keep parked messages", async () => {
    directory = await mkdtemp(path.join(tmpdir(), "eventmall-ps-"));
    const dataFile = path.join(directory, "store.db");
    const prefix = `pr${randomUUID().slice(0, 8)}-`;
    const stream = `${prefix}orders`;
    const streamGroup = uniqueGroup();
    const allGroup = uniqueGroup();
    const checkpointEvery = { startFrom: START, checkPointLowerBound: 1, checkPointAfter: 50, maxRetryCount: 6 } as const;

    let { client } = await start(dataFile);
    await append(client, stream, 5);
    await client.createPersistentSubscriptionToStream(stream, streamGroup, streamSettings(checkpointEvery));
    await client.createPersistentSubscriptionToAll(allGroup, allSettings(checkpointEvery), {
      filter: streamNameFilter({ prefixes: [prefix] }),
    });

    const toStream = new Inbox<PersistentSubscriptionToStreamResolvedEvent>(
      client.subscribeToPersistentSubscriptionToStream(stream, streamGroup),
    );
    const streamBacklog = await toStream.take(5);
    await toStream.subscription.ack(...streamBacklog.slice(0, 4));
    await toStream.subscription.nack("park", "bad data", streamBacklog[4]!);

    const toAll = new Inbox<PersistentSubscriptionToAllResolvedEvent>(client.subscribeToPersistentSubscriptionToAll(allGroup));
    const allBacklog = await toAll.take(5);
    await toAll.subscription.ack(...allBacklog);
    const lastAllPosition = allBacklog[4]!.event!.position!;

    await eventually(async () => {
      const { stats } = await client.getPersistentSubscriptionToStreamInfo(stream, streamGroup);
      return stats.lastCheckpointedEventRevision === 4n && stats.parkedMessageCount === 1n ? true : undefined;
    }, "stream group checkpointed at 4 with one parked message");
    await eventually(async () => {
      const { stats } = await client.getPersistentSubscriptionToAllInfo(allGroup);
      const checkpoint = stats.lastCheckpointedEventPosition?.commit;
      return checkpoint !== undefined && checkpoint >= lastAllPosition.commit ? true : undefined;
    }, "$all group checkpointed at or past its fifth event");
    await stop();

    ({ client } = await start(dataFile));
    const streamInfo = await client.getPersistentSubscriptionToStreamInfo(stream, streamGroup);
    expect(streamInfo.settings).toEqual(streamSettings(checkpointEvery));
    expect(streamInfo.stats.parkedMessageCount).toBe(1n);
    expect((await client.getPersistentSubscriptionToAllInfo(allGroup)).settings.maxRetryCount).toBe(6);

    await append(client, stream, 2, 5);
    const resumedStream = new Inbox<PersistentSubscriptionToStreamResolvedEvent>(
      client.subscribeToPersistentSubscriptionToStream(stream, streamGroup),
    );
    const resumedAll = new Inbox<PersistentSubscriptionToAllResolvedEvent>(client.subscribeToPersistentSubscriptionToAll(allGroup));
    expect((await resumedStream.take(2)).map(n)).toEqual([5, 6]);
    expect((await resumedAll.take(2)).map(n)).toEqual([5, 6]);

    await client.replayParkedMessagesToStream(stream, streamGroup);
    const [replayed] = await resumedStream.take(1);
    expect(n(replayed!)).toBe(4);
    await resumedStream.subscription.unsubscribe();
    await resumedAll.subscription.unsubscribe();
  });
});
