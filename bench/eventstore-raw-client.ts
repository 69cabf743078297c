// Raw gRPC measurements for bench/eventstore.ts: what the store costs without @eventstore/db-client's
// per-message CPU in the way (requests encoded beforehand, responses kept as bytes), and what the
// client library costs decoding the very same response bytes on its own.
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { Client, credentials, Metadata } from "@grpc/grpc-js";

const require = createRequire(import.meta.url);
const streamsPb = require("@eventstore/db-client/generated/streams_pb");
const sharedPb = require("@eventstore/db-client/generated/shared_pb");
const emptyPb = require("google-protobuf/google/protobuf/empty_pb");
// The client library's own conversion of a ReadResp event into what readStream yields (JSON parse,
// uuid, created date, positions); readStream runs exactly this per event after grpc-js delivers it.
const { convertGrpcEvent } = require("@eventstore/db-client/dist/utils/convertGrpcEvent");

function grpcClient(connectionString: string): Client {
  return new Client(new URL(connectionString.replace(/^esdb:/, "http:")).host, credentials.createInsecure());
}

/**
 * The store's own append capacity: BatchAppend requests encoded beforehand and kept `inFlight` in flight
 * on one call by a raw gRPC client, so that the client library's per-append CPU is out of the measurement.
 */
export async function preEncodedAppendsPerSecond(
  connectionString: string,
  total: number,
  inFlight: number,
  streams: number,
  payload: (n: number) => unknown,
): Promise<number> {
  const requests = Array.from({ length: total }, (_, n) => {
    const options = new streamsPb.BatchAppendReq.Options()
      .setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(Buffer.from(`raw-client-${n % streams}`)))
      .setAny(new emptyPb.Empty());
    const message = new streamsPb.BatchAppendReq.ProposedMessage()
      .setId(new sharedPb.UUID().setString(randomUUID()))
      .setData(Buffer.from(JSON.stringify(payload(n))));
    message.getMetadataMap().set("type", "OrderPlaced");
    message.getMetadataMap().set("content-type", "application/json");
    const request = new streamsPb.BatchAppendReq().setCorrelationId(new sharedPb.UUID().setString(randomUUID())).setOptions(options);
    request.addProposedMessages(message);
    request.setIsFinal(true);
    return Buffer.from(request.serializeBinary());
  });
  const client = grpcClient(connectionString);
  const call = client.makeBidiStreamRequest(
    "/event_store.client.streams.Streams/BatchAppend",
    (bytes: Buffer) => bytes,
    (bytes: Buffer) => bytes,
    new Metadata(),
  );
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let received = 0;
    call.on("error", reject);
    call.on("data", () => {
      received += 1;
      if (sent < total) call.write(requests[sent++]);
      if (received === total) resolve();
    });
    while (sent < Math.min(inFlight, total)) call.write(requests[sent++]);
  });
  const perSecond = total / ((performance.now() - started) / 1000);
  call.end();
  client.close();
  return perSecond;
}

/** The ReadReq readStream sends for a whole stream, forwards from the start. */
function readStreamRequest(stream: string): Buffer {
  const options = new streamsPb.ReadReq.Options()
    .setStream(
      new streamsPb.ReadReq.Options.StreamOptions()
        .setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(Buffer.from(stream)))
        .setStart(new sharedPb.Empty()),
    )
    .setResolveLinks(false)
    .setCount(Number.MAX_SAFE_INTEGER.toString())
    .setUuidOption(new streamsPb.ReadReq.Options.UUIDOption().setString(new sharedPb.Empty()))
    .setNoFilter(new sharedPb.Empty())
    .setReadDirection(0);
  return Buffer.from(new streamsPb.ReadReq().setOptions(options).serializeBinary());
}

/** One Streams.Read of a whole stream by a raw gRPC client: the response messages as bytes, not decoded. */
export async function rawRead(connectionString: string, stream: string): Promise<{ millis: number; messages: Buffer[] }> {
  const client = grpcClient(connectionString);
  const request = readStreamRequest(stream);
  const messages: Buffer[] = [];
  try {
    // Connect first, so that the timing is the read alone (the official client's channel is warm too).
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())));
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const call = client.makeServerStreamRequest(
        "/event_store.client.streams.Streams/Read",
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => bytes,
        request,
        new Metadata(),
      );
      call.on("data", (bytes: Buffer) => messages.push(bytes));
      call.on("end", resolve);
      call.on("error", reject);
    });
    return { millis: performance.now() - started, messages };
  } finally {
    client.close();
  }
}

/**
 * The client library's CPU to decode read responses it is handed as bytes: google-protobuf's
 * deserializeBinary plus its conversion to resolved events, without transport or stream machinery.
 */
export function clientDecodeMillis(messages: Buffer[]): number {
  const started = process.cpuUsage();
  let events = 0;
  for (const bytes of messages) {
    const response = streamsPb.ReadResp.deserializeBinary(bytes);
    if (response.hasEvent() && convertGrpcEvent(response.getEvent()).event) events += 1;
  }
  const used = process.cpuUsage(started);
  if (events === 0) throw new Error("no events decoded");
  return (used.user + used.system) / 1000;
}
