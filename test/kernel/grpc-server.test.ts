// The kernel gRPC server against real clients: grpc-js, connect (gRPC, gRPC-Web, Connect), fetch,
// buf curl, raw reflection streams, and TLS with a certificate made by openssl.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import http2 from "node:http2";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { create, createRegistry, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { anyUnpack, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GetProductRequestSchema,
  GetProductResponseSchema,
  ProductQueryService,
} from "../../gen/eventmall/product/v1/queries_pb";
import { RevisionConflictSchema } from "../../gen/eventmall/common/v1/command_pb";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { BadRequestSchema, ErrorInfoSchema, PreconditionFailureSchema } from "../../gen/google/rpc/error_details_pb";
import { StatusSchema } from "../../gen/google/rpc/status_pb";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb";
import * as reflectV1 from "../../gen/grpc/reflection/v1/reflection_pb";
import * as reflectV1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb";
import { aborted, failedPrecondition, invalidArgument } from "../../src/kernel/grpc/errors";
import { bind, startGrpcServer, type GrpcServer } from "../../src/kernel/grpc/server";

const run = promisify(execFile);
const QUERY = "eventmall.product.v1.ProductQueryService";
const silent = pino({ level: "silent" });

// A tiny fake of the query service whose product ids pick a behaviour.
let releaseSlowCall: () => void = () => {};
const fakeQueries = bind(ProductQueryService, {
  async getProduct(request) {
    switch (request.productId) {
      case "boom":
        throw new Error("SELECT * FROM secret_table failed at /srv/app.ts");
      case "invalid":
        throw invalidArgument([{ field: "product_id", description: "must be a UUID" }]);
      case "short":
        throw failedPrecondition("inventory would go below zero", "INSUFFICIENT_INVENTORY", "product-1");
      case "conflict":
        throw aborted("stream moved", { streamName: "product-1", expectedRevision: 3n, actualRevision: 5n });
      case "slow":
        await new Promise<void>((resolve) => (releaseSlowCall = resolve));
        return { product: { productId: "slow", name: "finished" } };
      default:
        return { product: { productId: request.productId, name: `name of ${request.productId}`, price: 1200n } };
    }
  },
});

function grpcJsGetProduct(address: string, productId: string) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<{ name: string }>((resolve, reject) => {
    client.makeUnaryRequest(
      `/${QUERY}/GetProduct`,
      (message: ReturnType<typeof create<typeof GetProductRequestSchema>>) =>
        Buffer.from(toBinary(GetProductRequestSchema, message)),
      (bytes: Buffer) => fromBinary(GetProductResponseSchema, bytes),
      create(GetProductRequestSchema, { productId }),
      (error, response) => {
        client.close();
        if (error) reject(error);
        else resolve({ name: response!.product!.name });
      },
    );
  });
}

async function expectConnectError(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

describe("kernel gRPC server (plaintext)", () => {
  let server: GrpcServer;
  let grpcTransport: Transport;
  let queries: Client<typeof ProductQueryService>;

  beforeAll(async () => {
    server = await startGrpcServer({ name: "test", port: 0, services: [fakeQueries], logger: silent });
    grpcTransport = createGrpcTransport({ baseUrl: server.url });
    queries = createClient(ProductQueryService, grpcTransport);
  });
  afterAll(() => server?.close());

  it("answers a grpc-js client over h2c", async () => {
    expect(await grpcJsGetProduct(`127.0.0.1:${server.port}`, "p1")).toEqual({ name: "name of p1" });
  });

  it("answers connect clients over gRPC (HTTP/2), gRPC-Web and Connect (HTTP/1.1)", async () => {
    expect((await queries.getProduct({ productId: "p2" })).product?.price).toBe(1200n);
    for (const transport of [
      createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    ]) {
      const response = await createClient(ProductQueryService, transport).getProduct({ productId: "p3" });
      expect(response.product?.name).toBe("name of p3");
    }
  });

  it("answers Connect JSON over HTTP/1.1 from fetch", async () => {
    const response = await fetch(`${server.url}/${QUERY}/GetProduct`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ productId: "p4" }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ product: { productId: "p4", name: "name of p4", price: "1200" } });
  });

  it("is described by reflection to buf curl, over v1 and v1alpha", async () => {
    const base = ["buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge"];
    const listed = await run("npx", [...base, "--list-methods", server.url]);
    expect(listed.stdout.split("\n")).toEqual(
      expect.arrayContaining([
        `${QUERY}/GetProduct`,
        `${QUERY}/ListProducts`,
        "grpc.health.v1.Health/Check",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      ]),
    );
    for (const protocol of ["grpc-v1", "grpc-v1alpha"]) {
      const called = await run("npx", [
        ...base,
        "--reflect-protocol",
        protocol,
        "-d",
        '{"productId":"p5"}',
        `${server.url}/${QUERY}/GetProduct`,
      ]);
      expect(JSON.parse(called.stdout).product.name).toBe("name of p5");
    }
  }, 60_000);

  it("serves raw reflection v1: services, files with imports once per stream, symbols, extensions", async () => {
    const reflection = createClient(reflectV1.ServerReflection, grpcTransport);
    const requests: MessageInitShape<typeof reflectV1.ServerReflectionRequestSchema>["messageRequest"][] = [
      { case: "listServices", value: "" },
      { case: "fileContainingSymbol", value: `${QUERY}.GetProduct` },
      { case: "fileByFilename", value: "google/protobuf/timestamp.proto" },
      // Enum values are scoped beside their enum, as in protoc and grpc-go.
      { case: "fileContainingSymbol", value: "eventmall.product.v1.PRODUCT_SORT_NAME_ASC" },
      { case: "fileContainingSymbol", value: "eventmall.product.v1.Product.created_at" },
      { case: "fileContainingSymbol", value: "no.such.Symbol" },
      { case: "allExtensionNumbersOfType", value: "eventmall.product.v1.Product" },
      { case: "fileContainingExtension", value: { containingType: "eventmall.product.v1.Product", extensionNumber: 100 } },
    ];
    const responses: reflectV1.ServerReflectionResponse["messageResponse"][] = [];
    for await (const response of reflection.serverReflectionInfo(
      (async function* () {
        for (const messageRequest of requests) yield { host: "h", messageRequest };
      })(),
    )) {
      responses.push(response.messageResponse);
    }
    const fileNames = (i: number) => {
      const r = responses[i];
      if (r?.case !== "fileDescriptorResponse") throw new Error(`response ${i} is ${r?.case}`);
      return r.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
    };
    expect(responses[0]).toMatchObject({ case: "listServicesResponse" });
    const services = responses[0]?.case === "listServicesResponse" ? responses[0].value.service.map((s) => s.name) : [];
    expect(services.sort()).toEqual(
      [QUERY, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"].sort(),
    );
    expect(fileNames(1)).toEqual(["eventmall/product/v1/queries.proto", "google/protobuf/timestamp.proto"]);
    expect(fileNames(2)).toEqual(["google/protobuf/timestamp.proto"]);
    expect(fileNames(3)).toEqual(["eventmall/product/v1/queries.proto"]);
    expect(fileNames(4)).toEqual(["eventmall/product/v1/queries.proto"]);
    expect(responses[5]).toMatchObject({ case: "errorResponse", value: { errorCode: Code.NotFound } });
    expect(responses[6]).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "eventmall.product.v1.Product", extensionNumber: [] },
    });
    expect(responses[7]).toMatchObject({ case: "errorResponse", value: { errorCode: Code.NotFound } });
  });

  it("serves raw reflection v1alpha with decodable descriptors", async () => {
    const reflection = createClient(reflectV1alpha.ServerReflection, grpcTransport);
    const answers = [];
    for await (const response of reflection.serverReflectionInfo(
      (async function* () {
        yield { messageRequest: { case: "fileContainingSymbol" as const, value: "grpc.health.v1.Health" } };
        yield { messageRequest: { case: "listServices" as const, value: "*" } };
      })(),
    )) {
      answers.push(response);
    }
    const files = answers[0]?.messageResponse;
    if (files?.case !== "fileDescriptorResponse") throw new Error(`unexpected ${files?.case}`);
    const health = fromBinary(FileDescriptorProtoSchema, files.value.fileDescriptorProto[0]!);
    expect(health.name).toBe("grpc/health/v1/health.proto");
    expect(health.service[0]?.method.map((m) => m.name)).toEqual(["Check", "Watch"]);
    expect(answers[0]?.originalRequest?.messageRequest.case).toBe("fileContainingSymbol");
    expect(answers[1]?.messageResponse.case).toBe("listServicesResponse");
  });

  it("reports health per service and NOT_FOUND for an unknown one", async () => {
    const health = createClient(Health, grpcTransport);
    expect((await health.check({ service: "" })).status).toBe(Serving.SERVING);
    expect((await health.check({ service: QUERY })).status).toBe(Serving.SERVING);
    const unknown = await expectConnectError(health.check({ service: "no.Such" }));
    expect(unknown.code).toBe(Code.NotFound);
  });

  it("streams health changes to Watch", async () => {
    const health = createClient(Health, grpcTransport);
    const abort = new AbortController();
    const seen: Serving[] = [];
    try {
      for await (const response of health.watch({ service: QUERY }, { signal: abort.signal })) {
        seen.push(response.status);
        if (seen.length === 1) server.health.set(QUERY, Serving.NOT_SERVING);
        if (seen.length === 2) server.health.set(QUERY, Serving.SERVING);
        if (seen.length === 3) abort.abort();
      }
    } catch (error) {
      expect(ConnectError.from(error).code).toBe(Code.Canceled);
    }
    expect(seen).toEqual([Serving.SERVING, Serving.NOT_SERVING, Serving.SERVING]);
    const unknown = health.watch({ service: "no.Such" }, { signal: AbortSignal.timeout(5_000) });
    for await (const response of unknown) {
      expect(response.status).toBe(Serving.SERVICE_UNKNOWN);
      break;
    }
  });

  it("sends error details a connect client decodes", async () => {
    const invalid = await expectConnectError(queries.getProduct({ productId: "invalid" }));
    expect(invalid.code).toBe(Code.InvalidArgument);
    expect(invalid.findDetails(BadRequestSchema)[0]?.fieldViolations).toEqual([
      expect.objectContaining({ field: "product_id", description: "must be a UUID" }),
    ]);
    const short = await expectConnectError(queries.getProduct({ productId: "short" }));
    expect(short.code).toBe(Code.FailedPrecondition);
    expect(short.rawMessage).toBe("inventory would go below zero");
    expect(short.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "INSUFFICIENT_INVENTORY", domain: "eventmall" });
    expect(short.findDetails(PreconditionFailureSchema)[0]?.violations[0]).toMatchObject({ subject: "product-1" });
    const conflict = await expectConnectError(queries.getProduct({ productId: "conflict" }));
    expect(conflict.code).toBe(Code.Aborted);
    expect(conflict.findDetails(RevisionConflictSchema)[0]).toMatchObject({
      streamName: "product-1",
      expectedRevision: 3n,
      actualRevision: 5n,
    });
  });

  it("sends error details a grpc-js client decodes from grpc-status-details-bin", async () => {
    const error = (await grpcJsGetProduct(`127.0.0.1:${server.port}`, "invalid").catch((e) => e)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    const [raw] = error.metadata.get("grpc-status-details-bin");
    const status = fromBinary(StatusSchema, raw as Buffer);
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    const detail = anyUnpack(status.details[0]!, createRegistry(BadRequestSchema));
    expect(detail).toMatchObject({ fieldViolations: [{ field: "product_id" }] });
  });

  it("turns a handler exception into INTERNAL without leaking it, and keeps serving", async () => {
    const error = await expectConnectError(queries.getProduct({ productId: "boom" }));
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe("internal error");
    expect(error.message).not.toContain("secret_table");
    expect((await queries.getProduct({ productId: "after" })).product?.name).toBe("name of after");
  });

  it("rejects an oversize message with RESOURCE_EXHAUSTED over every protocol, promptly, and keeps serving", async () => {
    const huge = "x".repeat(5 * 1024 * 1024);
    const transports = {
      "gRPC": grpcTransport,
      "gRPC-Web HTTP/1.1": createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      "gRPC-Web HTTP/2": createGrpcWebTransport({ baseUrl: server.url, httpVersion: "2" }),
      "Connect JSON HTTP/1.1": createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      "Connect binary HTTP/1.1": createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: true }),
      "Connect binary HTTP/2": createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: true }),
    };
    for (const [name, transport] of Object.entries(transports)) {
      const client = createClient(ProductQueryService, transport);
      // A deadline, not a timing assertion: a server that waits for the whole upload answers late.
      const over = await expectConnectError(client.getProduct({ productId: huge }, { timeoutMs: 10_000 }));
      expect(`${name}: ${Code[over.code]}`).toBe(`${name}: ResourceExhausted`);
      // The same client (and its kept-alive connection, where it reuses one) still works.
      expect((await client.getProduct({ productId: "small" })).product?.name, name).toBe("name of small");
    }
  }, 60_000);

  it("ends the call of a client that sends an oversize message in full (HTTP/2 RST_STREAM NO_ERROR)", async () => {
    // Unlike the clients above, this one never stops uploading by itself: it waits for the server.
    const session = http2.connect(server.url);
    try {
      const frame = Buffer.alloc(5 + 4 * 1024 * 1024 + 1);
      frame.writeUInt32BE(4 * 1024 * 1024 + 1, 1);
      const stream = session.request({ ":method": "POST", ":path": `/${QUERY}/GetProduct`, "content-type": "application/grpc", te: "trailers" });
      let status: unknown;
      stream.on("trailers", (trailers) => (status ??= trailers["grpc-status"]));
      stream.on("response", (headers) => (status ??= headers["grpc-status"]));
      stream.on("data", () => {});
      stream.on("error", () => {});
      stream.end(frame);
      const closed = await Promise.race([
        new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode))),
        new Promise<"still open">((resolve) => setTimeout(() => resolve("still open"), 10_000)),
      ]);
      expect(closed).toBe(http2.constants.NGHTTP2_NO_ERROR);
      expect(status).toBe(String(Code.ResourceExhausted));
      expect((await queries.getProduct({ productId: "after-upload" })).product?.name).toBe("name of after-upload");
    } finally {
      session.close();
    }
  }, 30_000);
});

// Writes `chunks` to a raw connection (pausing between them) and collects what comes back until the
// server closes it or `waitMs` passes.
async function rawExchange(port: number, chunks: Buffer[], waitMs = 500): Promise<Buffer> {
  const socket = net.connect(port, "127.0.0.1");
  const received: Buffer[] = [];
  socket.on("data", (data) => received.push(data));
  socket.on("error", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  for (const chunk of chunks) {
    socket.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => {
    socket.once("close", resolve);
    setTimeout(resolve, waitMs);
  });
  socket.destroy();
  return Buffer.concat(received);
}

function frameTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3)) types.push(bytes[at + 3]!);
  return types;
}

describe("kernel gRPC server on malformed input", () => {
  let server: GrpcServer;
  beforeAll(async () => {
    server = await startGrpcServer({ name: "test", port: 0, services: [fakeQueries], logger: silent });
  });
  afterAll(() => server?.close());

  it("answers garbage with an HTTP/1.1 400, a split HTTP/2 preface with SETTINGS, bad frames with GOAWAY, and keeps serving", async () => {
    const garbage = await rawExchange(server.port, [Buffer.from("\x00\x01\x02 not http at all\r\n\r\n")]);
    expect(garbage.toString("latin1")).toMatch(/^HTTP\/1\.1 400/);

    const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    const emptySettings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const split = await rawExchange(server.port, [preface.subarray(0, 2), preface.subarray(2, 10), preface.subarray(10), emptySettings]);
    expect(split[3]).toBe(4); // the server's first frame: SETTINGS

    const badFrame = Buffer.from([0, 0, 4, 0xff, 0, 0, 0, 0, 1, 1, 2, 3, 4]); // DATA-less junk on stream 1
    const junk = await rawExchange(server.port, [Buffer.concat([preface, emptySettings, Buffer.from([0, 0, 1, 0, 0, 0, 0, 0, 0, 0]), badFrame])]);
    expect(frameTypes(junk)).toContain(7); // GOAWAY

    const queries = createClient(ProductQueryService, createGrpcTransport({ baseUrl: server.url }));
    expect((await queries.getProduct({ productId: "still-up" })).product?.name).toBe("name of still-up");
  });

  it("answers unknown methods with UNIMPLEMENTED and malformed JSON or binary with invalid_argument", async () => {
    const response = await fetch(`${server.url}/${QUERY}/NoSuchMethod`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(404);
    const malformed = await fetch(`${server.url}/${QUERY}/GetProduct`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"productId": ',
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { code: string }).code).toBe("invalid_argument");
    // Binary garbage over the Connect protocol is the caller's fault too (connect-es says INTERNAL).
    const garbage = await fetch(`${server.url}/${QUERY}/GetProduct`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: Uint8Array.of(0x0a, 0xff),
    });
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toEqual({
      code: "invalid_argument",
      message: "cannot decode message eventmall.product.v1.GetProductRequest from binary: premature EOF",
    });
    const unregistered = createClient(ProductCommandService, createGrpcTransport({ baseUrl: server.url }));
    expect((await expectConnectError(unregistered.createProduct({ name: "x" }))).code).toBe(Code.Unimplemented);
  });
});

describe("kernel gRPC server interceptors", () => {
  it("runs the given interceptors inside the error concealment", async () => {
    const server = await startGrpcServer({
      name: "test",
      port: 0,
      services: [fakeQueries],
      logger: silent,
      interceptors: [
        (next) => async (request) => {
          if (request.header.get("x-fail") === "yes") throw new TypeError("interceptor bug with internals");
          const response = await next(request);
          response.header.set("x-seen-by", "test-interceptor");
          return response;
        },
      ],
    });
    try {
      const queries = createClient(ProductQueryService, createGrpcTransport({ baseUrl: server.url }));
      let seenBy: string | null = null;
      await queries.getProduct({ productId: "i1" }, { onHeader: (headers) => (seenBy = headers.get("x-seen-by")) });
      expect(seenBy).toBe("test-interceptor");
      const error = await expectConnectError(queries.getProduct({ productId: "i2" }, { headers: { "x-fail": "yes" } }));
      expect([error.code, error.rawMessage]).toEqual([Code.Internal, "internal error"]);
    } finally {
      await server.close();
    }
  });
});

describe("kernel gRPC server shutdown", () => {
  it("finishes an in-flight call, goes NOT_SERVING, ends Watch streams and refuses new connections", async () => {
    const server = await startGrpcServer({ name: "test", port: 0, services: [fakeQueries], logger: silent });
    const transport = createGrpcTransport({ baseUrl: server.url });
    const queries = createClient(ProductQueryService, transport);
    const watched: Serving[] = [];
    const watching = (async () => {
      for await (const response of createClient(Health, transport).watch({ service: "" })) watched.push(response.status);
    })();
    const slow = queries.getProduct({ productId: "slow" });
    await expect.poll(() => watched.length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the slow call reach its handler
    const closing = server.close();
    releaseSlowCall();
    expect((await slow).product?.name).toBe("finished");
    await closing;
    await watching;
    expect(watched).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
    const fresh = createClient(ProductQueryService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    expect((await expectConnectError(fresh.getProduct({ productId: "late" }))).code).toBe(Code.Unavailable);
  });
});

describe("kernel gRPC server over TLS", () => {
  let dir: string;
  let server: GrpcServer;
  let ca: Buffer;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "grpc-tls-"));
    await run("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
    ]);
    ca = await fs.readFile(path.join(dir, "cert.pem"));
    server = await startGrpcServer({
      name: "tls",
      port: 0,
      services: [fakeQueries],
      tls: { certFile: path.join(dir, "cert.pem"), keyFile: path.join(dir, "key.pem") },
      logger: silent,
    });
  });
  afterAll(async () => {
    await server?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("serves gRPC over h2 and Connect over HTTP/1.1 (ALPN) with a trusted self-signed certificate", async () => {
    expect(server.url).toMatch(/^https:\/\//);
    // By the certificate's DNS name: a TLS client given an IP address sends it as SNI (Node's DEP0123).
    const byName = `https://localhost:${server.port}`;
    const overH2 = createClient(ProductQueryService, createGrpcTransport({ baseUrl: byName, nodeOptions: { ca } }));
    expect((await overH2.getProduct({ productId: "t1" })).product?.name).toBe("name of t1");
    const overH1 = createClient(
      ProductQueryService,
      createConnectTransport({ baseUrl: byName, httpVersion: "1.1", nodeOptions: { ca } }),
    );
    expect((await overH1.getProduct({ productId: "t2" })).product?.name).toBe("name of t2");
    const client = new grpc.Client(`localhost:${server.port}`, grpc.credentials.createSsl(ca));
    const viaGrpcJs = await new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        `/${QUERY}/GetProduct`,
        (m: ReturnType<typeof create<typeof GetProductRequestSchema>>) => Buffer.from(toBinary(GetProductRequestSchema, m)),
        (b: Buffer) => fromBinary(GetProductResponseSchema, b),
        create(GetProductRequestSchema, { productId: "t3" }),
        (error, response) => (client.close(), error ? reject(error) : resolve(response?.product?.name)),
      ),
    );
    expect(viaGrpcJs).toBe("name of t3");
  });
});
