// Every setting of every process, read from the environment in one place. The README's
// configuration table lists these; keep the two in step.
import path from "node:path";
import { dialableHost, urlHost } from "./network";
import { toEsdbConnectionString } from "./connection-string";

function env(name: string, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value === "" ? fallback : value;
}

function intEnv(name: string, fallback: number): number {
  const raw = env(name, String(fallback));
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

function listEnv(name: string, fallback: string): string[] {
  return env(name, fallback)
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function oneOf<const T extends readonly string[]>(name: string, value: string, allowed: T): T[number] {
  if (!allowed.includes(value)) throw new Error(`${name} must be one of ${allowed.join(", ")}, got "${value}"`);
  return value;
}

/** A comma-separated list, or undefined when unset or empty (meaning: every one there is). */
function optionalListEnv(name: string): string[] | undefined {
  const items = listEnv(name, "");
  return items.length > 0 ? items : undefined;
}

function tlsFiles(certFile: string, keyFile: string): { certFile: string; keyFile: string } | undefined {
  if (certFile === "" && keyFile === "") return undefined;
  if (certFile === "" || keyFile === "") throw new Error("GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE must be set together");
  return { certFile, keyFile };
}

/**
 * Events between snapshots. A cold load reads the snapshot and the stream's last SNAPSHOT_EVERY
 * events at once, and each event read through the client costs ~25-30 µs of CPU against ~1 ms per
 * read, so a short interval keeps a cold load at one cheap round trip; the price is one snapshot
 * append per SNAPSHOT_EVERY events, written off the request path.
 */
export const DEFAULT_SNAPSHOT_EVERY = 20;

export function loadConfig() {
  const dataDir = path.resolve(env("DATA_DIR", "data"));
  const host = env("EVENTMALL_HOST", "127.0.0.1");
  const eventStorePort = intEnv("EVENTSTORE_PORT", 2113);
  // Never inherited from EVENTMALL_HOST: the embedded store has no authentication, so it is exposed
  // only when EVENTSTORE_HOST says so (and EVENTSTORE_INSECURE_BIND_ANY allows it).
  const eventStoreHost = env("EVENTSTORE_HOST", "127.0.0.1");
  const readDatabaseUrl = env("READ_DATABASE_URL", `file:${path.join(dataDir, "read.db")}`);
  return {
    dataDir,
    host,
    eventStore: {
      host: eventStoreHost,
      port: eventStorePort,
      dataFile: env("EVENTSTORE_DATA_FILE", path.join(dataDir, "eventstore.db")),
      inMemory: env("EVENTSTORE_IN_MEMORY", "false") === "true",
      /** Lets the embedded store listen beyond loopback although it has no authentication. */
      insecureBindAny: env("EVENTSTORE_INSECURE_BIND_ANY", "false") === "true",
      /** The address discovery (Gossip.Read) gives clients; unset = the bound host (loopback for a wildcard). */
      advertiseHost: env("EVENTSTORE_ADVERTISE_HOST", "") || undefined,
      /** true: run the system projections ($by_category, $by_event_type, $streams) from the start, as EventStoreDB's StartStandardProjections. */
      startStandardProjections: env("EVENTSTORE_START_STANDARD_PROJECTIONS", "false") === "true",
      /** Secure mode when a certificate is given: TLS, and basic authentication of admin/ops with these passwords. */
      certificateFile: process.env.EVENTSTORE_CERTIFICATE_FILE || undefined,
      certificatePrivateKeyFile: process.env.EVENTSTORE_CERTIFICATE_PRIVATE_KEY_FILE ?? "",
      adminPassword: process.env.EVENTSTORE_DEFAULT_ADMIN_PASSWORD ?? "",
      opsPassword: process.env.EVENTSTORE_DEFAULT_OPS_PASSWORD ?? "",
      connectionString: toEsdbConnectionString(env("EVENTSTORE_CONNECTION_STRING", `esdb://${urlHost(dialableHost(eventStoreHost))}:${eventStorePort}?tls=false`)),
    },
    command: {
      port: intEnv("COMMAND_PORT", 50051),
      snapshotEvery: intEnv("SNAPSHOT_EVERY", DEFAULT_SNAPSHOT_EVERY),
      maxConflictRetries: intEnv("COMMAND_MAX_CONFLICT_RETRIES", 20),
      /** Aggregate states each context's repository keeps in memory; 0 = read every command's state from the store. */
      cacheSize: intEnv("COMMAND_CACHE_SIZE", 10_000),
      /** Bounded contexts whose command services this process hosts. */
      contexts: optionalListEnv("COMMAND_CONTEXTS"),
    },
    query: {
      port: intEnv("QUERY_PORT", 50052),
      /** Bounded contexts whose query services this process hosts. */
      contexts: optionalListEnv("QUERY_CONTEXTS"),
      /** How long a query carrying a position_token waits for its read model (then UNAVAILABLE). */
      readYourWritesTimeoutMs: intEnv("READ_YOUR_WRITES_TIMEOUT_MS", 2000),
    },
    /** Prometheus /metrics port per process; 0 = no metrics endpoint. */
    metricsPort: {
      eventstore: intEnv("EVENTSTORE_METRICS_PORT", 0),
      command: intEnv("COMMAND_METRICS_PORT", 0),
      query: intEnv("QUERY_METRICS_PORT", 0),
      projector: intEnv("PROJECTOR_METRICS_PORT", 0),
      publisher: intEnv("PUBLISHER_METRICS_PORT", 0),
    },
    /** Both set: the command and query services serve gRPC over TLS with this certificate (PEM). */
    grpcTls: tlsFiles(env("GRPC_TLS_CERT_FILE", ""), env("GRPC_TLS_KEY_FILE", "")),
    /** pino level of every process's JSON log: trace, debug, info, warn, error, fatal or silent. */
    logLevel: env("LOG_LEVEL", "info"),
    readDatabaseUrl,
    /** Write-side password hashes (member_credential table): mutable, erasable, never projected. */
    credentialsDatabaseUrl: env("CREDENTIALS_DATABASE_URL", readDatabaseUrl),
    projector: {
      maxRetries: intEnv("PROJECTOR_MAX_RETRIES", 5),
      retryBaseMs: intEnv("PROJECTOR_RETRY_BASE_MS", 100),
      /** Port of a grpc.health.v1-only server for orchestrators' health checks; empty = none. */
      healthPort: env("PROJECTOR_HEALTH_PORT", "") === "" ? undefined : intEnv("PROJECTOR_HEALTH_PORT", 0),
    },
    /** Integration events to NATS JetStream (src/kernel/publisher); no NATS_URL = no publisher. */
    publisher: {
      natsUrl: env("NATS_URL", ""),
      stream: env("PUBLISHER_STREAM", "EVENTMALL"),
      subjectPrefix: env("PUBLISHER_SUBJECT_PREFIX", "eventmall"),
      maxAgeMs: intEnv("PUBLISHER_MAX_AGE_MS", 7 * 24 * 3600_000),
      duplicateWindowMs: intEnv("PUBLISHER_DUPLICATE_WINDOW_MS", 120_000),
      retention: oneOf("PUBLISHER_RETENTION", env("PUBLISHER_RETENTION", "limits"), ["limits", "interest", "workqueue"] as const),
      leaseMs: intEnv("PUBLISHER_LEASE_MS", 10_000),
      maxInFlight: intEnv("PUBLISHER_MAX_IN_FLIGHT", 256),
      maxRetries: intEnv("PUBLISHER_MAX_RETRIES", 5),
      retryBaseMs: intEnv("PUBLISHER_RETRY_BASE_MS", 100),
      checkpointEveryMs: intEnv("PUBLISHER_CHECKPOINT_EVERY_MS", 200),
    },
    auth: {
      /** Empty: use (or create) <DATA_DIR>/token-secret. */
      tokenSecret: env("AUTH_TOKEN_SECRET", ""),
      tokenTtlSeconds: intEnv("AUTH_TOKEN_TTL_SECONDS", 3600),
      adminLoginIds: listEnv("ADMIN_LOGIN_IDS", ""),
    },
  };
}

export type Config = ReturnType<typeof loadConfig>;
