// Bad input to PersistentSubscriptions at the gRPC level (the client's own generated stubs):
// each gets a clear status, and the group keeps serving. The statuses for malformed requests
// are this server's (the official client never sends them), so this runs against the embedded store only.
import { createRequire } from "node:module";
import { credentials, status, type ClientDuplexStream, type ServiceError } from "@grpc/grpc-js";
import { ErrorType, START, jsonEvent, persistentSubscriptionToStreamSettingsFromDefaults as streamSettings } from "@eventstore/db-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, uniqueStream, type StoreUnderTest } from "./harness";
import { Inbox, append, n, uniqueGroup } from "./persistent-support";

const require = createRequire(import.meta.url);
const persistentGrpc = require("@eventstore/db-client/generated/persistent_grpc_pb");
const persistentPb = require("@eventstore/db-client/generated/persistent_pb");
const sharedPb = require("@eventstore/db-client/generated/shared_pb");

const external = !!process.env.EVENTMALL_CONFORMANCE_ESDB;

let store: StoreUnderTest;
let raw: any;
/** What the embedded store logged that a test provoked on purpose (anything else still reaches stderr). */
const skippedSnapshots: string[] = [];
const storeLogger = {
  error(message: string, error?: unknown) {
    if (message.startsWith("skipping an unreadable")) skippedSnapshots.push(`${message}: ${String(error)}`);
    else console.error(`[persistent-subscriptions] ${message}`, error ?? "");
  },
};
beforeAll(async () => {
  store = await openStore({ logger: storeLogger });
  const address = new URL(store.connectionString.replace(/^esdb(\+discover)?:/, "http:")).host;
  raw = new persistentGrpc.PersistentSubscriptionsClient(address, credentials.createInsecure());
});
afterAll(async () => {
  raw?.close();
  await store?.close();
});

const identifier = (name: string) => new sharedPb.StreamIdentifier().setStreamName(Buffer.from(name));

function call(method: string, request: unknown): Promise<ServiceError | null> {
  return new Promise((resolve) => raw[method](request, (error: ServiceError | null) => resolve(error)));
}

/** Opens a Read call, sends `messages`, and resolves with the status it ends with. */
function read(messages: unknown[]): Promise<ServiceError | null> {
  return new Promise((resolve) => {
    const stream: ClientDuplexStream<unknown, unknown> = raw.read();
    stream.on("data", () => {});
    stream.on("error", (error: ServiceError) => resolve(error));
    stream.on("end", () => resolve(null));
    for (const message of messages) stream.write(message);
  });
}

function createRequest(stream: string, group: string, configure?: (settings: any) => void) {
  const settings = new persistentPb.CreateReq.Settings()
    .setMaxRetryCount(3)
    .setMinCheckpointCount(1)
    .setMaxCheckpointCount(10)
    .setLiveBufferSize(10)
    .setReadBatchSize(5)
    .setHistoryBufferSize(10)
    .setMessageTimeoutMs(1000)
    .setCheckpointAfterMs(100)
    .setRevision("0");
  configure?.(settings);
  const options = new persistentPb.CreateReq.Options().setGroupName(group).setStreamIdentifier(identifier(stream)).setSettings(settings);
  return new persistentPb.CreateReq().setOptions(options);
}

describe.skipIf(external)("PersistentSubscriptions bad input", () => {
  it("answers malformed create requests with a status and creates nothing", async () => {
    const stream = uniqueStream("pp");
    expect((await call("create", new persistentPb.CreateReq()))?.code).toBe(status.INVALID_ARGUMENT);
    expect((await call("create", createRequest(stream, "")))?.code).toBe(status.INVALID_ARGUMENT);
    expect((await call("create", createRequest("", uniqueGroup())))?.code).toBe(status.INVALID_ARGUMENT);
    const unknownStrategy = await call("create", createRequest(stream, uniqueGroup(), (s) => s.setConsumerStrategy("Fastest")));
    expect(unknownStrategy?.code).toBe(status.INTERNAL);
    expect(unknownStrategy?.metadata.get("exception")).toEqual(["persistent-subscription-failed"]);
    const negativeTimeout = await call("create", createRequest(stream, uniqueGroup(), (s) => s.setMessageTimeoutMs(-5)));
    expect(negativeTimeout?.metadata.get("exception")).toEqual(["persistent-subscription-failed"]);
    const negativeMinCheckpoint = await call("create", createRequest(stream, uniqueGroup(), (s) => s.setMinCheckpointCount(-1)));
    expect(negativeMinCheckpoint?.metadata.get("exception")).toEqual(["persistent-subscription-failed"]);

    const badRegex = new persistentPb.CreateReq.AllOptions()
      .setStart(new sharedPb.Empty())
      .setFilter(
        new persistentPb.CreateReq.AllOptions.FilterOptions()
          .setStreamIdentifier(new persistentPb.CreateReq.AllOptions.FilterOptions.Expression().setRegex("(["))
          .setCount(new sharedPb.Empty())
          .setCheckpointintervalmultiplier(1),
      );
    const request = createRequest(stream, uniqueGroup());
    request.getOptions().setStreamIdentifier(undefined).setAll(badRegex);
    expect((await call("create", request))?.code).toBe(status.INVALID_ARGUMENT);
    const listed = await store.client.listPersistentSubscriptionsToStream(stream).catch((error) => error);
    expect(listed.type).toBe(ErrorType.PERSISTENT_SUBSCRIPTION_DOES_NOT_EXIST);
  });

  it("ends a Read call that does not start with options, or asks for no buffer, with INVALID_ARGUMENT", async () => {
    const stream = uniqueStream("pp");
    const group = uniqueGroup();
    expect(await call("create", createRequest(stream, group))).toBeNull();
    const ack = new persistentPb.ReadReq().setAck(new persistentPb.ReadReq.Ack());
    expect((await read([ack]))?.code).toBe(status.INVALID_ARGUMENT);
    const noBuffer = new persistentPb.ReadReq().setOptions(
      new persistentPb.ReadReq.Options().setGroupName(group).setStreamIdentifier(identifier(stream)).setBufferSize(0),
    );
    expect((await read([noBuffer]))?.code).toBe(status.INVALID_ARGUMENT);
  });

  it("ignores acks and nacks of malformed ids and keeps delivering", async () => {
    const stream = uniqueStream("pp");
    const group = uniqueGroup();
    await append(store.client, stream, 2);
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings({ startFrom: START }));
    const rawRead: ClientDuplexStream<any, any> = raw.read();
    const received: any[] = [];
    rawRead.on("data", (message: any) => {
      if (message.hasEvent()) received.push(message.getEvent());
    });
    rawRead.on("error", () => {});
    rawRead.write(
      new persistentPb.ReadReq().setOptions(
        new persistentPb.ReadReq.Options()
          .setGroupName(group)
          .setStreamIdentifier(identifier(stream))
          .setBufferSize(1)
          .setUuidOption(new persistentPb.ReadReq.Options.UUIDOption().setString(new sharedPb.Empty())),
      ),
    );
    const garbage = [new sharedPb.UUID().setString("not-a-uuid"), new sharedPb.UUID()];
    rawRead.write(new persistentPb.ReadReq().setAck(new persistentPb.ReadReq.Ack().setIdsList(garbage)));
    rawRead.write(new persistentPb.ReadReq().setNack(new persistentPb.ReadReq.Nack().setIdsList(garbage).setAction(9)));
    while (received.length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    // Acking the first (structured UUID form) frees the single slot for the second.
    const firstId: string = received[0].getEvent().getId().getString();
    const hex = firstId.replaceAll("-", "");
    const structured = new sharedPb.UUID.Structured()
      .setMostSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)).toString())
      .setLeastSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(16)}`)).toString());
    rawRead.write(new persistentPb.ReadReq().setAck(new persistentPb.ReadReq.Ack().setIdsList([new sharedPb.UUID().setStructured(structured)])));
    while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received[1].getEvent().getStreamRevision()).toBe("1");
    rawRead.cancel();

    const check = new Inbox(store.client.subscribeToPersistentSubscriptionToStream(stream, group));
    await append(store.client, stream, 1, 2);
    // Revision 1 was never acked by the cancelled call, so it comes back along with the new event.
    const next = await check.take(2);
    expect(next.map(n).sort()).toEqual([1, 2]);
    await check.subscription.unsubscribe();
  });

  it("survives garbage appended to the config stream and restarts with the last readable configs", async () => {
    const stream = uniqueStream("pp");
    const group = uniqueGroup();
    await store.client.createPersistentSubscriptionToStream(stream, group, streamSettings());
    await store.client.appendToStream("$persistentSubscriptionConfig", [
      jsonEvent({ type: "$PersistentConfig", data: { entries: [{ nonsense: true }] } }),
      jsonEvent({ type: "$PersistentConfig", data: { hello: "world" } }),
    ]);
    await store.client.restartPersistentSubscriptionSubsystem();
    const listed = await store.client.listPersistentSubscriptionsToStream(stream);
    expect(listed.map((entry) => entry.groupName)).toEqual([group]);
    // Each garbage snapshot is reported as skipped (to the store's logger, not this test's output).
    if (store.embedded) expect(skippedSnapshots).toHaveLength(2);
  });
});
