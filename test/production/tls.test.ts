// Optional TLS: with GRPC_TLS_CERT_FILE/GRPC_TLS_KEY_FILE set, the command and query processes
// serve gRPC over TLS. A self-signed certificate made by openssl here; real gRPC clients that
// trust it get answers, a plaintext client gets none.
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProductQueryService } from "../../gen/eventmall/product/v1/queries_pb";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { listeningUrl, startService, type ServiceProcess } from "../support/processes";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";

let dir: string;
let ca: Buffer;
let store: StoreUnderTest;
let readDb: TestReadDb;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "eventmall-tls-"));
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert,
  ], { stdio: "ignore" });
  ca = await readFile(cert);
  store = await openStore();
  readDb = await createMigratedReadDb("sqlite");
  const tls = { GRPC_TLS_CERT_FILE: cert, GRPC_TLS_KEY_FILE: key, DATA_DIR: dir };
  services.push(
    startService("command", { ...tls, COMMAND_PORT: "0", COMMAND_CONTEXTS: "product", EVENTSTORE_CONNECTION_STRING: store.connectionString }),
    startService("query", { ...tls, QUERY_PORT: "0", READ_DATABASE_URL: readDb.url }),
  );
  await Promise.all(services.map((service) => listeningUrl(service)));
}, 120_000);

afterAll(async () => {
  await Promise.all(services.map((service) => service.stop()));
  await store?.close();
  await readDb?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("gRPC over TLS", () => {
  it.each([
    ["command", 0, "eventmall.product.v1.ProductCommandService"],
    ["query", 1, "eventmall.product.v1.ProductQueryService"],
  ] as const)("the %s process serves https and answers a client that trusts the certificate", async (_name, index, serviceName) => {
    const url = await listeningUrl(services[index]!);
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const port = new URL(url).port;
    const transport = createGrpcTransport({ baseUrl: `https://localhost:${port}`, nodeOptions: { ca } });
    const health = await createClient(Health, transport).check({ service: serviceName });
    expect(health.status).toBe(HealthCheckResponse_ServingStatus.SERVING);

    // Without the certificate in its trust store the client refuses the server...
    const untrusting = createClient(Health, createGrpcTransport({ baseUrl: `https://localhost:${port}` }));
    await expect(untrusting.check({ service: serviceName })).rejects.toThrow(/self[- ]signed|certificate/i);
    // ...and a plaintext (h2c) client gets no gRPC answer from the TLS port.
    const plaintext = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
    const error = await plaintext.check({ service: serviceName }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
  });

  it("passes the container health check, which speaks TLS when GRPC_TLS_CERT_FILE is set", async () => {
    const port = new URL(await listeningUrl(services[1]!)).port;
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/healthcheck.ts", port], {
      env: { ...process.env, GRPC_TLS_CERT_FILE: path.join(dir, "cert.pem") },
    });
    expect(stdout.trim()).toBe("SERVING");
  });

  it("serves queries over TLS", async () => {
    const port = new URL(await listeningUrl(services[1]!)).port;
    const client = createClient(ProductQueryService, createGrpcTransport({ baseUrl: `https://localhost:${port}`, nodeOptions: { ca } }));
    expect((await client.listProducts({ pageSize: 5 })).products).toEqual([]);
  });
});
