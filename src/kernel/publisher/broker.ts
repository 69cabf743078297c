// The NATS side of the publisher: one connection (reconnecting forever), the JetStream stream it
// publishes to (created or updated on start) and the key-value bucket holding its checkpoint,
// leader lease and parked events.
import { jetstream, jetstreamManager, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";

export interface BrokerSettings {
  /** nats://host:port (several, comma-separated, for a cluster). */
  url: string;
  /** JetStream stream name. */
  stream: string;
  /** Subjects are `<subjectPrefix>.<context>.<MessageName>`; the stream captures `<subjectPrefix>.>`. */
  subjectPrefix: string;
  /** How long JetStream keeps messages (0 = forever). */
  maxAgeMs: number;
  /** Window in which JetStream drops a message whose Nats-Msg-Id it has seen. */
  duplicateWindowMs: number;
  retention: "limits" | "interest" | "workqueue";
}

/** A setting the publisher cannot run with: reported once, clearly, and the process exits. */
export class PublisherConfigurationError extends Error {
  override readonly name = "PublisherConfigurationError";
}

export interface Broker {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Checkpoint, leader lease and parked events of this stream's publishers. */
  state: KV;
  close(): Promise<void>;
}

const SUBJECT_TOKEN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const STREAM_NAME = /^[A-Za-z0-9_-]+$/;

/** Checks settings that need no broker; throws PublisherConfigurationError. */
export function validateBrokerSettings(settings: BrokerSettings): void {
  for (const server of settings.url.split(",")) {
    let parsed: URL;
    try {
      parsed = new URL(server.includes("://") ? server.trim() : `nats://${server.trim()}`);
    } catch {
      throw new PublisherConfigurationError(`NATS_URL "${settings.url}" is not a URL (expected nats://host:port[,nats://host:port...])`);
    }
    if (!["nats:", "tls:", "ws:", "wss:"].includes(parsed.protocol) || parsed.hostname === "" || (parsed.port !== "" && !(Number(parsed.port) > 0))) {
      throw new PublisherConfigurationError(`NATS_URL "${settings.url}" is not a NATS server address (expected nats://host:port)`);
    }
  }
  if (!STREAM_NAME.test(settings.stream)) throw new PublisherConfigurationError(`PUBLISHER_STREAM "${settings.stream}" may hold only letters, digits, _ and -`);
  if (!SUBJECT_TOKEN.test(settings.subjectPrefix)) throw new PublisherConfigurationError(`PUBLISHER_SUBJECT_PREFIX "${settings.subjectPrefix}" is not a NATS subject without wildcards`);
  if (settings.duplicateWindowMs <= 0) throw new PublisherConfigurationError("PUBLISHER_DUPLICATE_WINDOW_MS must be positive");
  if (settings.maxAgeMs !== 0 && settings.maxAgeMs < settings.duplicateWindowMs) {
    throw new PublisherConfigurationError("PUBLISHER_MAX_AGE_MS must be 0 (forever) or at least PUBLISHER_DUPLICATE_WINDOW_MS");
  }
}

/** Name of the KV bucket that holds a stream's publisher state. */
export function stateBucket(stream: string): string {
  return `${stream}_publisher`;
}

/**
 * Connects (waiting for a first connection, retrying forever: a broker that is down is not a
 * configuration error), then creates or updates the stream. A stream the broker refuses (e.g. its
 * subjects overlap another stream's) is a PublisherConfigurationError.
 */
export async function openBroker(settings: BrokerSettings, name: string, options: { ensureStream?: boolean; waitForBroker?: boolean } = {}): Promise<Broker> {
  validateBrokerSettings(settings);
  const nc = await connect({
    servers: settings.url.split(",").map((server) => server.trim()),
    name,
    waitOnFirstConnect: options.waitForBroker !== false,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  try {
    const jsm = await jetstreamManager(nc);
    // Operator tools (status, replay) only look: they leave the stream's settings to the publisher.
    if (options.ensureStream !== false) await ensureStream(jsm, settings);
    const state = await new Kvm(nc).create(stateBucket(settings.stream), { history: 1, storage: StorageType.File });
    return { nc, js: jetstream(nc), jsm, state, close: () => nc.drain() };
  } catch (error) {
    await nc.close();
    throw error;
  }
}

async function ensureStream(jsm: JetStreamManager, settings: BrokerSettings): Promise<void> {
  const config = {
    name: settings.stream,
    subjects: [`${settings.subjectPrefix}.>`],
    retention: settings.retention as RetentionPolicy,
    storage: StorageType.File,
    max_age: nanos(settings.maxAgeMs),
    duplicate_window: nanos(settings.duplicateWindowMs),
  };
  try {
    const existing = await jsm.streams.info(settings.stream).catch((error: unknown) => {
      if (error instanceof JetStreamApiError && error.code === 10059) return undefined; // stream not found
      throw error;
    });
    if (existing) await jsm.streams.update(settings.stream, config);
    else await jsm.streams.add(config);
  } catch (error) {
    if (error instanceof JetStreamApiError) {
      throw new PublisherConfigurationError(`JetStream refused stream ${settings.stream} on subjects ${config.subjects.join(", ")}: ${error.message}`);
    }
    throw error;
  }
}
