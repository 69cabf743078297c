// One integration message onto JetStream: binary protobuf body, the source event's id as
// Nats-Msg-Id (JetStream drops a re-publish inside its duplicate window), provenance headers.
import { create, toBinary } from "@bufbuild/protobuf";
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { readMetadata } from "../event-codec";
import type { ProjectedEvent } from "../projector-checkpoint";
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
  return js.publish(subject, body, { msgID: event.id, headers: h, timeout: timeoutMs, expect: { streamName: stream } });
}
