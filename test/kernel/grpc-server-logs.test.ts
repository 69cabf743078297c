// A reflection client (grpcurl, buf curl) that goes away mid-stream is an ordinary event: the
// server logs it at debug, never as an error. Real server, raw HTTP/2 client, pino into memory.
import http2 from "node:http2";
import { Writable } from "node:stream";
import { create, toBinary } from "@bufbuild/protobuf";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProductQueryService } from "../../gen/eventmall/product/v1/queries_pb";
import * as reflectV1 from "../../gen/grpc/reflection/v1/reflection_pb";
import * as reflectV1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb";
import { bind, startGrpcServer, type GrpcServer } from "../../src/kernel/grpc/server";

const lines: { level: number; msg: string; err?: { code?: string } }[] = [];
const memory = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(line));
    done();
  },
});
const logger = pino({ level: "debug" }, memory);

let server: GrpcServer;

beforeAll(async () => {
  server = await startGrpcServer({
    name: "reflection-disconnect-test",
    port: 0,
    logger,
    services: [
      bind(ProductQueryService, {
        async getProduct() {
          await new Promise((resolve) => setTimeout(resolve, 50));
          return {};
        },
      }),
    ],
  });
});

afterAll(async () => {
  await server?.close();
});

function frame(message: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** Opens a reflection stream, asks one question, reads the answer, then drops the stream and the connection. */
async function askThenHangUp(path: string, request: Uint8Array): Promise<void> {
  const session = http2.connect(server.url);
  session.on("error", () => {});
  const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
  stream.on("error", () => {});
  stream.write(frame(request)); // the request side stays open, as grpcurl's does
  await new Promise<void>((resolve) => stream.once("data", () => resolve()));
  stream.close(http2.constants.NGHTTP2_CANCEL);
  session.destroy();
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe("a reflection client that disconnects mid-stream", () => {
  it.each([
    ["v1", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", toBinary(reflectV1.ServerReflectionRequestSchema, create(reflectV1.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } }))],
    ["v1alpha", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", toBinary(reflectV1alpha.ServerReflectionRequestSchema, create(reflectV1alpha.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } }))],
  ])("is logged at debug, not as an error (%s)", async (_version, path, request) => {
    lines.length = 0;
    await askThenHangUp(path, request);
    await settle();
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
    expect(lines.some((line) => line.level === 20 && line.msg === "client went away mid-call")).toBe(true);
    // The server keeps answering.
    await askThenHangUp(path, request);
  });
});
