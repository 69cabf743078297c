// Fuzzes every RPC of the command and query services (in-process servers over the embedded store
// and a migrated SQLite read db) with malformed protobuf, wrong JSON, hostile well-formed requests
// (huge strings, extreme numbers) and oversized messages, as no caller, a forged caller, an admin
// and a member. Every answer must be a status that blames the input (or OK); afterwards both
// servers still answer a health check.
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { create, toBinary, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import fc from "fast-check";
import { pino } from "pino";
import { HealthCheckResponse_ServingStatus, Health } from "../../../gen/grpc/health/v1/health_pb";
import { startCommandServer } from "../../../services/command/server";
import { startQueryServer } from "../../../services/query/server";
import { ADMIN_ROLE, createTokenService } from "../../../src/kernel/auth/auth";
import { DEFAULT_READ_MAX_BYTES } from "../../../src/kernel/grpc/server";
import { openReadDb } from "../../../src/kernel/read/read-db";
import { openStore } from "../../eventstore/harness";
import { createMigratedReadDb } from "../../support/read-db";
import { malformedProtobuf, methodPath, productServices, wellFormedRequest, wrongJson } from "./targets";
import { grpcFrame, WireClient, type WireAnswer } from "./wire";

/** Status codes that blame the caller's input or state, never the server. */
export const INPUT_CODES = new Set([0, 3, 5, 6, 7, 8, 9, 10, 11, 16]);

export interface FuzzReport {
  methods: string[];
  inputsTried: number;
  /** Requests whose answer was not an input status: method, input kind, code, message. */
  offenders: string[];
  /** Status code → count. */
  codes: Record<number, number>;
  healthyAfter: boolean;
}

export async function fuzzProductRpcs(options: { runsPerKind: number; seed: number; fullSizeOversized?: boolean }): Promise<FuzzReport> {
  const store = await openStore();
  const readDb = await createMigratedReadDb("sqlite");
  const db = await openReadDb(readDb.url);
  const tokens = createTokenService({ dataDir: tmpdir(), auth: { tokenSecret: randomBytes(32).toString("base64url"), tokenTtlSeconds: 3600 } });
  const forger = createTokenService({ dataDir: tmpdir(), auth: { tokenSecret: randomBytes(32).toString("base64url"), tokenTtlSeconds: 3600 } });
  const silent = pino({ level: "silent" });
  const commandServer = await startCommandServer({ eventStore: store.client, port: 0, snapshotEvery: 100, maxConflictRetries: 20, logger: silent, tokens, readDb: db, settings: { member: { passwordCost: { log2N: 10, r: 8, p: 1 } } } });
  const queryServer = await startQueryServer({ db, tokens, port: 0, logger: silent, eventStore: store.client, readYourWritesTimeoutMs: 200 });
  const callers: Record<string, string> = {
    anonymous: "",
    garbage: "Bearer not.a.token",
    forged: `Bearer ${(await forger.issue({ subject: "mallory", roles: [ADMIN_ROLE] })).token}`,
    admin: `Bearer ${(await tokens.issue({ subject: "fuzz-operator", roles: [ADMIN_ROLE] })).token}`,
    member: `Bearer ${(await tokens.issue({ subject: "00000000-0000-4000-8000-000000000001", roles: ["member"] })).token}`,
  };
  const wires = [new WireClient(commandServer.url), new WireClient(queryServer.url)];
  const report: FuzzReport = { methods: [], inputsTried: 0, offenders: [], codes: {}, healthyAfter: false };
  try {
    // Which server hosts a service: the one that does not answer UNIMPLEMENTED.
    const services = await productServices();
    const hosted: Array<{ service: DescService; wire: WireClient }> = [];
    for (const service of services) {
      const probe = toBinary(service.methods[0]!.input, create(service.methods[0]!.input));
      const answers = await Promise.all(wires.map((wire) => wire.grpc(methodPath(service.methods[0]!), grpcFrame(probe))));
      const index = answers.findIndex((a) => a.code !== 12);
      if (index < 0) throw new Error(`no server hosts ${service.typeName}`);
      hosted.push({ service, wire: wires[index]! });
    }

    const record = (method: DescMethod, kind: string, answer: WireAnswer) => {
      report.inputsTried++;
      report.codes[answer.code] = (report.codes[answer.code] ?? 0) + 1;
      // By design a position_token beyond what this node has seen (e.g. written through another
      // cluster node) waits, then answers UNAVAILABLE READ_MODEL_BEHIND: a retryable state, not a crash.
      const readModelBehind = answer.code === 14 && /read model has not caught up/.test(answer.message);
      if (!INPUT_CODES.has(answer.code) && !readModelBehind) report.offenders.push(`${methodPath(method)} [${kind}] → ${answer.code} ${answer.message}`);
    };
    const caller = fc.constantFrom(...Object.values(callers));
    const auth = (header: string): Record<string, string> => (header ? { authorization: header } : {});
    const params = { numRuns: options.runsPerKind, seed: options.seed, endOnFailure: true };

    for (const { service, wire } of hosted) {
      for (const method of service.methods) {
        const path = methodPath(method);
        report.methods.push(path);
        const started = Date.now();
        await fc.assert(
          fc.asyncProperty(malformedProtobuf, caller, async (bytes, header) => record(method, "malformed protobuf", await wire.grpc(path, grpcFrame(bytes), auth(header)))),
          params,
        );
        await fc.assert(
          fc.asyncProperty(wellFormedRequest(method), caller, async (bytes, header) => record(method, "hostile message", await wire.grpc(path, grpcFrame(bytes), auth(header)))),
          params,
        );
        if (method.methodKind === "unary") {
          await fc.assert(
            fc.asyncProperty(wrongJson(method), caller, async (body, header) => record(method, "wrong JSON", await wire.connectJson(path, body, auth(header)))),
            params,
          );
          // Connect's binary encoding: garbage must be INVALID_ARGUMENT too, not the library's INTERNAL.
          await fc.assert(
            fc.asyncProperty(malformedProtobuf, caller, async (bytes, header) => record(method, "malformed protobuf (Connect)", await wire.connectProto(path, bytes, auth(header)))),
            params,
          );
        }
        // Framing lies: a length prefix longer than the body, and a compressed flag without an encoding.
        record(method, "truncated frame", await wire.grpc(path, grpcFrame(Uint8Array.of(0x0a, 0x01), { declaredLength: 100 }), auth(callers.admin!)));
        // Oversized: one byte over the limit must be RESOURCE_EXHAUSTED, whoever asks.
        const oversized = await wire.grpc(path, grpcFrame(new Uint8Array(1024), { declaredLength: DEFAULT_READ_MAX_BYTES + 1 }), auth(callers.admin!));
        record(method, "oversized", oversized);
        if (oversized.code !== 8) report.offenders.push(`${path} [oversized] → ${oversized.code}, expected RESOURCE_EXHAUSTED`);
        if (process.env.FUZZ_PROGRESS) process.stderr.write(`fuzzed ${path} in ${Date.now() - started} ms (${report.inputsTried} inputs so far)\n`);
      }
    }

    // And one message that really is over the limit, sent in full to each server, over gRPC and
    // Connect binary: answered as soon as the length shows it, and the upload is cut short.
    if (options.fullSizeOversized) for (const { service, wire } of [hosted.find((h) => h.wire === wires[0]), hosted.find((h) => h.wire === wires[1])].filter((h) => h !== undefined)) {
      const method = service.methods.find((m) => m.methodKind === "unary")!;
      const body = new Uint8Array(DEFAULT_READ_MAX_BYTES + 1);
      for (const [protocol, answer] of [
        ["gRPC", await wire.grpc(methodPath(method), grpcFrame(body), auth(callers.admin!))],
        ["Connect", await wire.connectProto(methodPath(method), body, auth(callers.admin!))],
      ] as const) {
        record(method, `oversized (full body, ${protocol})`, answer);
        if (answer.code !== 8) report.offenders.push(`${methodPath(method)} [oversized, full body, ${protocol}] → ${answer.code}, expected RESOURCE_EXHAUSTED`);
      }
    }

    const healthOf = async (url: string) => (await createClient(Health, createGrpcTransport({ baseUrl: url })).check({ service: "" })).status;
    report.healthyAfter =
      (await healthOf(commandServer.url)) === HealthCheckResponse_ServingStatus.SERVING && (await healthOf(queryServer.url)) === HealthCheckResponse_ServingStatus.SERVING;
    return report;
  } finally {
    for (const wire of wires) wire.close();
    await commandServer.close();
    await queryServer.close();
    await db.$disconnect();
    await store.close();
    await readDb.drop();
  }
}
