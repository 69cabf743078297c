// Conformance at the gRPC level (the client's own generated stubs): ServerFeatures, and bad input
// answered with a clear status while the server keeps serving and loses nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";
import { credentials, Metadata, status, type Client, type ServiceError } from "@grpc/grpc-js";
import { jsonEvent } from "@eventstore/db-client";
import { openStore, uniqueStream, type StoreUnderTest } from "./harness";
import { collect, events, external } from "./helpers";

const require = createRequire(import.meta.url);
const streamsGrpc = require("@eventstore/db-client/generated/streams_grpc_pb");
const streamsPb = require("@eventstore/db-client/generated/streams_pb");
const sharedPb = require("@eventstore/db-client/generated/shared_pb");
const featuresGrpc = require("@eventstore/db-client/generated/serverfeatures_grpc_pb");

let store: StoreUnderTest;
let address: string;
let streams: any;
beforeAll(async () => {
  store = await openStore();
  address = new URL(store.connectionString.replace(/^esdb(\+discover)?:/, "http:")).host;
  streams = new streamsGrpc.StreamsClient(address, credentials.createInsecure(), {
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });
});
afterAll(async () => {
  (streams as Client | undefined)?.close();
  await store?.close();
});

function identifier(name: string) {
  return new sharedPb.StreamIdentifier().setStreamName(Buffer.from(name));
}

function unary(method: string, request: unknown): Promise<{ error: ServiceError | null; response: any }> {
  return new Promise((resolve) => streams[method](request, (error: ServiceError | null, response: unknown) => resolve({ error, response })));
}

function readAllMessages(request: unknown): Promise<{ messages: any[]; error: ServiceError | null }> {
  return new Promise((resolve) => {
    const messages: any[] = [];
    const call = streams.read(request);
    call.on("data", (message: unknown) => messages.push(message));
    call.on("error", (error: ServiceError) => resolve({ messages, error }));
    call.on("end", () => resolve({ messages, error: null }));
  });
}

function appendCall(messages: unknown[]): Promise<{ error: ServiceError | null; response: any }> {
  return new Promise((resolve) => {
    const call = streams.append((error: ServiceError | null, response: unknown) => resolve({ error, response }));
    call.on("error", () => {});
    for (const message of messages) call.write(message);
    call.end();
  });
}

function proposed(type: string | undefined, id = randomUUID()) {
  const message = new streamsPb.AppendReq.ProposedMessage();
  message.setId(new sharedPb.UUID().setString(id));
  if (type !== undefined) message.getMetadataMap().set("type", type);
  message.getMetadataMap().set("content-type", "application/json");
  message.setData(Buffer.from("{}"));
  return new streamsPb.AppendReq().setProposedMessage(message);
}

function appendOptions(stream: string) {
  return new streamsPb.AppendReq().setOptions(
    new streamsPb.AppendReq.Options().setStreamIdentifier(identifier(stream)).setAny(new sharedPb.Empty()),
  );
}

/**
 * Bad input must be refused with an error status. The embedded store's exact status is asserted; a real
 * server's status for malformed requests the official client never sends is not documented, so against
 * one only the refusal is.
 */
function expectRefused(error: ServiceError | null, code: status) {
  expect(error).not.toBeNull();
  if (!external) expect(error!.code).toBe(code);
}

async function stillServing() {
  const stream = uniqueStream("alive");
  await store.client.appendToStream(stream, events(1));
  expect(await collect(store.client.readStream(stream))).toHaveLength(1);
}

describe("ServerFeatures", () => {
  it("advertises BatchAppend, the Streams methods and persistent subscriptions to streams and $all", async () => {
    const client = new featuresGrpc.ServerFeaturesClient(address, credentials.createInsecure());
    const methods: any = await new Promise((resolve, reject) =>
      client.getSupportedMethods(new sharedPb.Empty(), (error: unknown, response: unknown) => (error ? reject(error) : resolve(response))),
    );
    client.close();
    const names = methods.getMethodsList().map((m: any) => `${m.getServiceName()}/${m.getMethodName()}`.toLowerCase());
    for (const method of ["read", "append", "batchappend", "delete", "tombstone"]) {
      expect(names).toContain(`event_store.client.streams.streams/${method}`);
    }
    expect(methods.getEventStoreServerVersion()).toMatch(/^\d+\.\d+/);
    const create = methods
      .getMethodsList()
      .find((m: any) => `${m.getServiceName()}/${m.getMethodName()}`.toLowerCase() === "event_store.client.persistent_subscriptions.persistentsubscriptions/create");
    expect(create?.getFeaturesList()).toEqual(expect.arrayContaining(["stream", "all"]));
  });
});

describe("bad input", () => {
  it("rejects an append without options, with an empty stream name, or with a malformed event id", async () => {
    const noOptions = await appendCall([proposed("T")]);
    expectRefused(noOptions.error, status.INVALID_ARGUMENT);
    const emptyName = await appendCall([appendOptions(""), proposed("T")]);
    expectRefused(emptyName.error, status.INVALID_ARGUMENT);
    const stream = uniqueStream("bad");
    const badId = await appendCall([appendOptions(stream), proposed("T", "not-a-uuid" as never)]);
    expect(badId.error).not.toBeNull();
    await stillServing();
  });

  it("rejects append and delete options without an expected revision", async () => {
    const stream = uniqueStream("bad");
    const options = new streamsPb.AppendReq().setOptions(new streamsPb.AppendReq.Options().setStreamIdentifier(identifier(stream)));
    const append = await appendCall([options, proposed("T")]);
    expectRefused(append.error, status.INVALID_ARGUMENT);
    const remove = await unary(
      "delete",
      new streamsPb.DeleteReq().setOptions(new streamsPb.DeleteReq.Options().setStreamIdentifier(identifier(stream))),
    );
    expectRefused(remove.error, status.INVALID_ARGUMENT);
    await stillServing();
  });

  it("reports a missing event type as a missing required metadata property", async () => {
    const result = await appendCall([appendOptions(uniqueStream("bad")), proposed(undefined)]);
    expectRefused(result.error, status.INVALID_ARGUMENT);
    expect(result.error?.metadata.get("exception")[0]).toBe("missing-required-metadata-property");
  });

  it("rejects an append larger than the maximum append size with maximum-append-size-exceeded", async () => {
    const stream = uniqueStream("huge");
    const big = jsonEvent({ type: "Huge", data: { blob: "x".repeat(1024 * 1024 + 10) } });
    const error: any = await store.client.appendToStream(stream, big).catch((e) => e);
    expect(error?.type).toBe("maximum-append-size-exceeded");
    const viaAppend: any = await store.client
      .appendToStream(stream, big, { credentials: { username: "admin", password: "changeit" } })
      .catch((e) => e);
    expect(viaAppend?.type).toBe("maximum-append-size-exceeded");
    await stillServing();
  });

  it("answers a read without options, a read of an empty stream name, and a backwards subscription with errors", async () => {
    const noOptions = await readAllMessages(new streamsPb.ReadReq());
    expectRefused(noOptions.error, status.INVALID_ARGUMENT);
    const options = new streamsPb.ReadReq.Options()
      .setStream(new streamsPb.ReadReq.Options.StreamOptions().setStreamIdentifier(identifier("")).setStart(new sharedPb.Empty()))
      .setCount("10")
      .setNoFilter(new sharedPb.Empty())
      .setUuidOption(new streamsPb.ReadReq.Options.UUIDOption().setString(new sharedPb.Empty()));
    const emptyName = await readAllMessages(new streamsPb.ReadReq().setOptions(options));
    expectRefused(emptyName.error, status.INVALID_ARGUMENT);
    await stillServing();
  });

  it("answers a delete without an expected revision or stream with INVALID_ARGUMENT", async () => {
    const missing = await unary("delete", new streamsPb.DeleteReq());
    expectRefused(missing.error, status.INVALID_ARGUMENT);
    await stillServing();
  });

  it("survives bytes that are not a protobuf message", async () => {
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    const error = await new Promise<ServiceError | null>((resolve) =>
      (streams as Client).makeUnaryRequest(
        "/event_store.client.streams.Streams/Delete",
        (value: Buffer) => value,
        (value: Buffer) => value,
        garbage,
        new Metadata(),
        {},
        (err) => resolve(err),
      ),
    );
    expect(error).not.toBeNull();
    await stillServing();
  });

  it.skipIf(external)("rejects a message above the receive limit with RESOURCE_EXHAUSTED", async () => {
    const message = new streamsPb.AppendReq().setProposedMessage(
      new streamsPb.AppendReq.ProposedMessage().setData(Buffer.alloc(17 * 1024 * 1024)),
    );
    const result = await appendCall([appendOptions(uniqueStream("huge")), message]);
    expect(result.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    await stillServing();
  });

  it("keeps every event appended around the bad requests", async () => {
    const stream = uniqueStream("intact");
    await store.client.appendToStream(stream, events(5));
    await appendCall([appendOptions(stream), proposed("T", "bad-id" as never)]);
    await store.client.appendToStream(stream, events(5));
    expect(await collect(store.client.readStream(stream))).toHaveLength(10);
  });
});
