// The embedded EventStoreDB-compatible server: the official client's gRPC service definitions over
// the SQLite event log. The client cannot tell it from a single EventStoreDB node for what it uses.
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { EventLog } from "./log";
import { openSqliteEventLog } from "./sqlite-log";
import { streamsService } from "./grpc/streams-service";
import { serverFeaturesService, type RegisteredService } from "./grpc/server-features";
import { persistentSubscriptionsService } from "./persistent";
import type { GroupLogger } from "./persistent/group";
import { gossipService } from "./grpc/gossip";
import { writeSystemEventsIfFresh } from "./system-events";
import { SystemProjections } from "./system-projections";
import { projectionsService } from "./grpc/projections";
import { authenticate, tlsCredentials, Users, type SecurityOptions } from "./security";
import { randomUUID } from "node:crypto";
import { rejectUnparsableRequests, tolerantDeserializers } from "./grpc/unparsable-requests";
import { dialableHost, isLoopbackHost, urlHost } from "../../src/kernel/process/network";

/** The configuration setting that allows listening beyond loopback (src/kernel/process/config.ts). */
export const INSECURE_BIND_ANY_SETTING = "EVENTSTORE_INSECURE_BIND_ANY";

/**
 * The store has no authentication and no TLS: whoever reaches its port reads every event (members'
 * personal data), appends forged ones and tombstones streams. It listens beyond loopback only when
 * the operator says so on purpose.
 */
export class ExposedWithoutAuthentication extends Error {
  constructor(host: string) {
    super(
      `refusing to listen on ${host}: in insecure mode the embedded event store has no authentication or TLS, so anyone who reaches ` +
        `this address could read every event and append or delete streams. Listen on 127.0.0.1 (EVENTSTORE_HOST, --host), ` +
        `run it in secure mode (EVENTSTORE_CERTIFICATE_FILE, see services/eventstore/README.md), ` +
        `or set ${INSECURE_BIND_ANY_SETTING}=true if this network is private on purpose.`,
    );
    this.name = "ExposedWithoutAuthentication";
  }
}

export interface StartEventStoreOptions {
  host?: string;
  /** 0 = a random free port. */
  port?: number;
  dataFile?: string;
  inMemory?: boolean;
  /** Start the system projections ($by_category, $by_event_type, $streams) that were never enabled or disabled; default false, as EventStoreDB's StartStandardProjections. */
  startStandardProjections?: boolean;
  /** Secure mode: TLS and basic authentication of admin/ops (see security.ts); the store may then listen beyond loopback. */
  security?: SecurityOptions;
  /** Allow a non-loopback host although the store has no authentication (EVENTSTORE_INSECURE_BIND_ANY). */
  insecureBindAny?: boolean;
  /** Where the store reports what it skips or cannot start (default: stderr). */
  logger?: GroupLogger;
  /** The address Gossip.Read gives clients for this node (EventStoreDB's AdvertiseHostToClientAs); default: the bound host, loopback for a wildcard. */
  advertiseHost?: string;
  /** The port Gossip.Read gives clients (AdvertiseHttpPortToClientAs); default: the bound port. */
  advertisePort?: number;
}

export interface RunningEventStore {
  port: number;
  /** esdb://host:port?tls=false */
  connectionString: string;
  log: EventLog;
  stop(): Promise<void>;
}

/**
 * Services beyond Streams and ServerFeatures: add one factory per service here. Each is registered
 * with the gRPC server and advertised (with its features) by ServerFeatures.GetSupportedMethods.
 */
const additionalServices: Array<(log: EventLog, logger?: GroupLogger) => RegisteredService> = [
  (log, logger) => persistentSubscriptionsService(log, logger),
];

/** Larger than any append the store accepts (1 MiB of events) plus framing; larger messages get RESOURCE_EXHAUSTED. */
const MAX_RECEIVE_MESSAGE_BYTES = 16 * 1024 * 1024;
const MAX_SEND_MESSAGE_BYTES = 64 * 1024 * 1024;
const SHUTDOWN_GRACE_MS = 2000;

export async function startEventStore(options: StartEventStoreOptions = {}): Promise<RunningEventStore> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopbackHost(host) && !options.insecureBindAny && !options.security) throw new ExposedWithoutAuthentication(host);
  const security = options.security;
  const users = security ? new Users(security) : undefined;
  const credentials = security ? tlsCredentials(security) : ServerCredentials.createInsecure();
  const log = openSqliteEventLog({ dataFile: options.dataFile, inMemory: options.inMemory ?? !options.dataFile });
  const instanceId = randomUUID();
  await writeSystemEventsIfFresh(log, instanceId).catch(async (error) => {
    await log.close();
    throw error;
  });
  const systemProjections = new SystemProjections(log, options.startStandardProjections ?? false);
  let port = 0;
  const advertised = { host: options.advertiseHost ?? dialableHost(host), port: () => options.advertisePort ?? port };
  const services: RegisteredService[] = [
    streamsService(log),
    gossipService(advertised, instanceId),
    projectionsService(systemProjections),
    ...additionalServices.map((create) => create(log, options.logger)),
  ];
  services.push(serverFeaturesService(services));

  const server = new Server({
    "grpc.max_receive_message_length": MAX_RECEIVE_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_SEND_MESSAGE_BYTES,
    interceptors: users ? [authenticate(users), rejectUnparsableRequests] : [rejectUnparsableRequests],
  });
  for (const service of services) server.addService(tolerantDeserializers(service.definition), service.implementation);
  try {
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${options.port ?? 0}`, credentials, (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
  } catch (error) {
    await log.close();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const service of services) await service.close?.();
      systemProjections.close();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await log.close();
    })());

  // A wildcard bind is dialled on loopback: 0.0.0.0 is no address to connect to.
  return { port, connectionString: `esdb://${urlHost(dialableHost(host))}:${port}?tls=${security ? "true" : "false"}`, log, stop };
}
