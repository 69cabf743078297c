// Publisher test fixtures: a JetStream stream and subject prefix of the test's own (deleted after),
// every message of it read back, and domain events appended the way the command side writes them.
import { randomBytes, randomUUID } from "node:crypto";
import { create, createRegistry, fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { EventStoreDBClient } from "@eventstore/db-client";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { file_eventmall_integration_v1_events } from "../../gen/eventmall/integration/v1/events_pb";
import { EventCodec } from "../../src/kernel/write/event-codec";
import { stateBucket } from "../../src/kernel/publisher/broker";
import { HEADER } from "../../src/kernel/publisher/publish";

export const NATS_URL = "nats://127.0.0.1:4222";

export interface StoredMessage {
  seq: number;
  subject: string;
  msgId: string;
  sourceStream: string;
  revision: bigint;
  type: string;
  headers: Record<string, string>;
  body: Uint8Array;
  decoded: Record<string, unknown>;
}

const integrationRegistry = createRegistry(file_eventmall_integration_v1_events);

export interface JetStreamFixture {
  nc: NatsConnection;
  jsm: JetStreamManager;
  stream: string;
  subjectPrefix: string;
  /** Environment for a publisher process on this fixture. */
  env(connectionString: string, extra?: Record<string, string>): Record<string, string>;
  /** Every message in the stream, in stream order, decoded with the proto contract. */
  messages(): Promise<StoredMessage[]>;
  count(): Promise<number>;
  dispose(): Promise<void>;
}

export async function jetStreamFixture(): Promise<JetStreamFixture> {
  const tag = randomBytes(4).toString("hex");
  const stream = `TEST_${tag}`;
  const subjectPrefix = `test_${tag}`;
  const nc = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  const count = async () => {
    try {
      return (await jsm.streams.info(stream)).state.messages;
    } catch {
      return 0;
    }
  };
  return {
    nc,
    jsm,
    stream,
    subjectPrefix,
    env: (connectionString, extra = {}) => ({
      EVENTSTORE_CONNECTION_STRING: connectionString,
      NATS_URL,
      PUBLISHER_STREAM: stream,
      PUBLISHER_SUBJECT_PREFIX: subjectPrefix,
      PUBLISHER_LEASE_MS: "1500",
      PUBLISHER_RETRY_BASE_MS: "50",
      LOG_LEVEL: "info",
      ...extra,
    }),
    count,
    async messages() {
      const total = await count();
      const out: StoredMessage[] = [];
      if (total === 0) return out;
      const consumer = await jetstream(nc).consumers.get(stream);
      while (out.length < total) {
        const batch = await consumer.fetch({ max_messages: Math.min(500, total - out.length), expires: 2_000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          const headers: Record<string, string> = {};
          for (const [key, values] of m.headers ?? []) headers[key] = values.join(",");
          const type = headers[HEADER.type] ?? "";
          const desc = integrationRegistry.getMessage(type);
          if (!desc) throw new Error(`message ${m.seq} has type header "${type}", not a contract message`);
          out.push({
            seq: m.seq,
            subject: m.subject,
            msgId: headers["Nats-Msg-Id"] ?? "",
            sourceStream: headers[HEADER.sourceStream] ?? "",
            revision: BigInt(headers[HEADER.sourceRevision] ?? "-1"),
            type,
            headers,
            body: m.data,
            decoded: fromBinary(desc, m.data) as unknown as Record<string, unknown>,
          });
        }
        if (got === 0) break;
      }
      return out;
    },
    async dispose() {
      for (const name of [stream, `KV_${stateBucket(stream)}`]) await jsm.streams.delete(name).catch(() => undefined);
      await nc.close();
    },
  };
}

/** Appends `events` (message schema + init) to `streamId` as the command side does. */
export async function appendDomainEvents(
  client: EventStoreDBClient,
  streamId: string,
  events: { schema: DescMessage; init: Record<string, unknown> }[],
  correlationId = randomUUID(),
): Promise<string[]> {
  const codec = new EventCodec(events.map((e) => e.schema));
  const encoded = events.map((e) => codec.encode(e.schema, create(e.schema, { ...e.init, ...timestamps(e.schema) }) as never, { correlationId, causationId: randomUUID() }, randomUUID()));
  await client.appendToStream(streamId, encoded);
  return encoded.map((e) => e.id);
}

function timestamps(schema: DescMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of schema.fields) if (field.message?.typeName === "google.protobuf.Timestamp") out[field.localName] = timestampNow();
  return out;
}

/** Polls `check` until it returns true (or fails after `timeoutMs`). */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Message ids unique, and each source stream's revisions strictly increasing in stream order. */
export function orderAndUniqueness(messages: StoredMessage[]): { duplicates: number; outOfOrder: string[] } {
  const ids = new Set(messages.map((m) => m.msgId));
  const last = new Map<string, bigint>();
  const outOfOrder: string[] = [];
  for (const m of messages) {
    const previous = last.get(m.sourceStream);
    if (previous !== undefined && m.revision <= previous) outOfOrder.push(`${m.sourceStream}@${m.revision} after ${previous}`);
    last.set(m.sourceStream, m.revision);
  }
  return { duplicates: messages.length - ids.size, outOfOrder };
}
