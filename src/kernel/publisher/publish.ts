// One integration message onto JetStream: binary protobuf body, the source event's id as
// Nats-Msg-Id (JetStream drops a re-publish inside its duplicate window), provenance headers.
import { create, toBinary } from "@bufbuild/protobuf";
import type { JetStreamClient, JetStreamManager, PubAck } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { readMetadata } from "../write/event-codec";
import type { ProjectedEvent } from "../read/projector-checkpoint";
import type { IntegrationMessage } from "./mapping";

export const HEADER = {
  type: "Eventmall-Type",
  sourceStream: "Eventmall-Source-Stream",
  sourceRevision: "Eventmall-Source-Revision",
  commitPosition: "Eventmall-Commit-Position",
  correlationId: "Eventmall-Correlation-Id",
  causationId: "Eventmall-Causation-Id",
} as const;

export function publishMessage(
  js: JetStreamClient,
  stream: string,
  subject: string,
  mapped: IntegrationMessage,
  event: ProjectedEvent,
  timeoutMs: number,
  /** The Nats-Msg-Id the stream's last message must have (see publisher.ts); undefined = no check. */
  expectLastMsgId?: string,
): Promise<PubAck> {
  const h = headers();
  h.set(HEADER.type, mapped.schema.typeName);
  h.set(HEADER.sourceStream, event.streamId);
  h.set(HEADER.sourceRevision, String(event.revision));
  h.set(HEADER.commitPosition, String(event.position.commit));
  const { correlationId, causationId } = readMetadata(event.metadata);
  if (correlationId) h.set(HEADER.correlationId, correlationId);
  if (causationId) h.set(HEADER.causationId, causationId);
  h.set("Content-Type", "application/protobuf");
  const body = toBinary(mapped.schema, create(mapped.schema, mapped.init));
  return js.publish(subject, body, { msgID: event.id, headers: h, timeout: timeoutMs, expect: { streamName: stream, ...(expectLastMsgId === undefined ? {} : { lastMsgID: expectLastMsgId }) } });
}

/** The Nats-Msg-Id of the stream's last message; undefined when it is empty or that message is gone. */
export async function lastMessageId(jsm: JetStreamManager, stream: string): Promise<string | undefined> {
  const { state } = await jsm.streams.info(stream);
  if (state.last_seq === 0) return undefined;
  try {
    return (await jsm.streams.getMessage(stream, { seq: state.last_seq }))?.header.get("Nats-Msg-Id") || undefined;
  } catch {
    return undefined; // expired or deleted: the chain starts unchecked
  }
}
