// A gRPC + gRPC-Web + Connect server on one port, with health, reflection, bounded message sizes,
// concealed internal errors and a graceful close.
import { setMaxListeners } from "node:events";
import fs from "node:fs";
import http2 from "node:http2";
import type net from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor, ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { pino, type Logger } from "pino";
import { Health } from "../../../gen/grpc/health/v1/health_pb";
import * as reflectionV1Pb from "../../../gen/grpc/reflection/v1/reflection_pb";
import * as reflectionV1alphaPb from "../../../gen/grpc/reflection/v1alpha/reflection_pb";
import { stopUnreadUploads } from "./early-answers";
import { internalErrorInterceptor } from "./errors";
import { HealthRegistry } from "./health";
import { isLoopbackHost } from "../process/network";
import { createPlaintextListener } from "./plaintext-listener";
import { DescriptorIndex, reflectionV1, reflectionV1alpha } from "./reflection";
import { blameUnparsableConnectRequests, blameUnparsableRequests } from "./unparsable-requests";

export const DEFAULT_READ_MAX_BYTES = 4 * 1024 * 1024;
const DEFAULT_SHUTDOWN_GRACE_MS = 5_000;

export interface ServiceBinding {
  readonly service: DescService;
  register(router: ConnectRouter): void;
}

export function bind<S extends DescService>(service: S, implementation: Partial<ServiceImpl<S>>): ServiceBinding {
  return { service, register: (router) => void router.service(service, implementation) };
}

export interface GrpcServerOptions {
  /** Process/service name used in logs. */
  name: string;
  host?: string;
  /** 0 picks a free port. */
  port: number;
  services: ServiceBinding[];
  tls?: { certFile: string; keyFile: string };
  /** Largest request message accepted; bigger ones get RESOURCE_EXHAUSTED. */
  readMaxBytes?: number;
  /** Run on every call, inside the interceptor that conceals unexpected errors as INTERNAL. */
  interceptors?: Interceptor[];
  /** How long close() lets in-flight calls finish before cutting connections. */
  shutdownGraceMs?: number;
  logger?: Logger;
}

export interface GrpcServer {
  readonly port: number;
  readonly url: string;
  /** Health statuses served by grpc.health.v1.Health; set(service, status) to change them. */
  readonly health: HealthRegistry;
  close(): Promise<void>;
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const host = options.host ?? "127.0.0.1";
  const logger = options.logger ?? pino({ name: options.name });
  const graceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  const userServices = options.services.map((b) => b.service);
  const health = new HealthRegistry(userServices.map((s) => s.typeName));
  const index = new DescriptorIndex([
    ...userServices,
    Health,
    reflectionV1Pb.ServerReflection,
    reflectionV1alphaPb.ServerReflection,
  ]);
  const shutdown = new AbortController();
  // Every in-flight call listens on this one signal: more than 10 at once is normal, not a leak.
  setMaxListeners(0, shutdown.signal);

  const handler = connectNodeAdapter({
    readMaxBytes: options.readMaxBytes ?? DEFAULT_READ_MAX_BYTES,
    shutdownSignal: shutdown.signal,
    interceptors: [internalErrorInterceptor(logger), ...(options.interceptors ?? [])],
    routes(router) {
      for (const binding of options.services) binding.register(router);
      router.service(Health, health.implementation());
      router.service(reflectionV1Pb.ServerReflection, reflectionV1(index));
      router.service(reflectionV1alphaPb.ServerReflection, reflectionV1alpha(index));
      // The adapter reads the handlers after routes() returns: wrap each method's handler here.
      router.handlers.forEach((handler, i) => (router.handlers[i] = blameUnparsableConnectRequests(handler)));
    },
  });

  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  const countingHandler: Parameters<typeof createPlaintextListener>[0] = (req, res) => {
    inFlight++;
    res.once("close", () => {
      inFlight--;
      if (inFlight === 0) onIdle?.();
    });
    blameUnparsableRequests(res);
    stopUnreadUploads(req, res);
    handler(req as never, res as never);
  };

  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const trackSession = (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.on("error", (error) => logger.debug({ err: error }, "http2 session error"));
  };

  let listener: net.Server;
  if (options.tls) {
    const secure = http2.createSecureServer(
      {
        cert: fs.readFileSync(options.tls.certFile),
        key: fs.readFileSync(options.tls.keyFile),
        allowHTTP1: true, // ALPN offers h2 and http/1.1
      },
      countingHandler,
    );
    secure.on("secureConnection", track);
    secure.on("session", trackSession);
    listener = secure;
  } else {
    const plain = createPlaintextListener(countingHandler, track);
    plain.h2.on("session", trackSession);
    listener = plain.listener;
  }
  listener.on("error", (error) => logger.error({ err: error }, "listener error"));

  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(options.port, host, () => {
      listener.off("error", reject);
      resolve();
    });
  });
  const address = listener.address() as net.AddressInfo;
  const url = `${options.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
  if (!options.tls && !isLoopbackHost(host) && options.services.length > 0) {
    // Bearer tokens and personal data would cross the network in clear text (a health-only server carries neither).
    logger.warn(
      { host, port: address.port },
      "serving plaintext gRPC beyond loopback: access tokens and personal data travel unencrypted; set GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE, or terminate TLS in front of this port",
    );
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      health.shutdown();
      const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const session of sessions) session.close();
      const drained = await new Promise<boolean>((resolve) => {
        if (inFlight === 0) return resolve(true);
        const timer = setTimeout(() => resolve(false), graceMs);
        onIdle = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      if (!drained) {
        logger.warn({ inFlight }, "shutdown grace period over; aborting in-flight calls");
        shutdown.abort();
      }
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await stopped;
    })());

  return { port: address.port, url, health, close };
}
