// Translation between the client's protobuf messages and the log's plain types.
import type { ExpectedRevision, ProposedEvent, ReadEvent, StoredEvent } from "../log";
import { BadRequest, missingRequiredMetadata } from "./errors";
import { sharedPb, streamsPb } from "./proto";

type UUID = InstanceType<typeof sharedPb.UUID>;
type StreamIdentifier = InstanceType<typeof sharedPb.StreamIdentifier>;
type RecordedEvent = InstanceType<typeof streamsPb.ReadResp.ReadEvent.RecordedEvent>;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_UINT64 = 18446744073709551615n;

export function streamNameOf(identifier: StreamIdentifier | undefined): string {
  const bytes = identifier?.getStreamName_asU8();
  if (!bytes || bytes.length === 0) throw new BadRequest("A stream name is required.");
  return Buffer.from(bytes).toString("utf8");
}

export function streamIdentifier(streamName: string): StreamIdentifier {
  return new sharedPb.StreamIdentifier().setStreamName(Buffer.from(streamName, "utf8"));
}

export function parseUint64(text: string, what: string): bigint {
  if (!/^\d+$/.test(text)) throw new BadRequest(`Invalid ${what}: "${text}".`);
  const value = BigInt(text);
  if (value > MAX_UINT64) throw new BadRequest(`Invalid ${what}: "${text}".`);
  return value;
}

export function uuidToString(uuid: UUID | undefined): string {
  if (!uuid) throw new BadRequest("An event id is required.");
  let text: string;
  if (uuid.hasStructured()) {
    const structured = uuid.getStructured()!;
    const most = BigInt.asUintN(64, BigInt(structured.getMostSignificantBits()));
    const least = BigInt.asUintN(64, BigInt(structured.getLeastSignificantBits()));
    const hex = most.toString(16).padStart(16, "0") + least.toString(16).padStart(16, "0");
    text = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  } else {
    text = uuid.getString().toLowerCase();
  }
  if (!UUID_PATTERN.test(text)) throw new BadRequest(`Invalid event id: "${text}".`);
  return text;
}

export function uuidMessage(id: string, structured: boolean): UUID {
  const uuid = new sharedPb.UUID();
  if (!structured) return uuid.setString(id);
  const hex = id.replaceAll("-", "");
  const parts = new sharedPb.UUID.Structured()
    .setMostSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)).toString())
    .setLeastSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(16)}`)).toString());
  return uuid.setStructured(parts);
}

interface ProposedMessageLike {
  getId(): UUID | undefined;
  getMetadataMap(): { get(key: string): string | undefined };
  getData_asU8(): Uint8Array;
  getCustomMetadata_asU8(): Uint8Array;
}

export function proposedEvent(message: ProposedMessageLike): ProposedEvent {
  const metadata = message.getMetadataMap();
  const type = metadata.get("type");
  const contentType = metadata.get("content-type");
  if (!type || !contentType) throw missingRequiredMetadata();
  return {
    id: uuidToString(message.getId()),
    type,
    contentType,
    data: message.getData_asU8(),
    metadata: message.getCustomMetadata_asU8(),
  };
}

/** Byte size counted against the maximum append size, as EventStoreDB counts it (data + metadata). */
export function proposedSize(event: ProposedEvent): number {
  return event.data.length + event.metadata.length + event.type.length;
}

/** The oneof of expected revisions shared by Append, Delete and Tombstone options (same field numbers). */
export function expectedRevisionOf(
  caseNumber: number,
  revision: () => string,
  cases: { revision: number; noStream: number; any: number; streamExists: number },
): ExpectedRevision {
  switch (caseNumber) {
    case cases.revision:
      return { kind: "exact", revision: parseUint64(revision(), "expected revision") };
    case cases.noStream:
      return { kind: "no_stream" };
    case cases.any:
      return { kind: "any" };
    case cases.streamExists:
      return { kind: "stream_exists" };
    default:
      throw new BadRequest("An expected stream revision is required.");
  }
}

export const EXPECTED_CASES = { revision: 2, noStream: 3, any: 4, streamExists: 5 };

export function recordedEvent(event: StoredEvent, structuredIds: boolean): RecordedEvent {
  const record = new streamsPb.ReadResp.ReadEvent.RecordedEvent()
    .setId(uuidMessage(event.id, structuredIds))
    .setStreamIdentifier(streamIdentifier(event.streamId))
    .setStreamRevision(event.revision.toString())
    .setPreparePosition(event.position.toString())
    .setCommitPosition(event.position.toString())
    .setData(event.data)
    .setCustomMetadata(event.metadata);
  const map = record.getMetadataMap();
  map.set("type", event.type);
  map.set("content-type", event.contentType);
  map.set("created", event.created.toString());
  return record;
}

export function readEventMessage(entry: ReadEvent, structuredIds: boolean): InstanceType<typeof streamsPb.ReadResp> {
  const readEvent = new streamsPb.ReadResp.ReadEvent();
  if (entry.unresolvedLink) readEvent.setLink(recordedEvent(entry.event, structuredIds));
  else readEvent.setEvent(recordedEvent(entry.event, structuredIds));
  if (entry.link) readEvent.setLink(recordedEvent(entry.link, structuredIds));
  readEvent.setCommitPosition((entry.link ?? entry.event).position.toString());
  return new streamsPb.ReadResp().setEvent(readEvent);
}
