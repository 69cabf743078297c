// Direct protobuf decoding of BatchAppendReq and encoding of its success answer, the per-append hot
// path (google-protobuf's object model cost about a third of the store's CPU per append). Field numbers
// are those of the client's streams.proto / shared.proto (checked against its generated code);
// batch-append-codec.test.ts compares both directions with google-protobuf.
import type { ExpectedRevision, ProposedEvent } from "../log";
import { BadRequest, missingRequiredMetadata } from "./errors";
import { ByteWriter } from "./read-encoding";

const EMPTY: Uint8Array = Buffer.alloc(0);
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface BatchAppendOptions {
  streamName: string;
  expected: ExpectedRevision;
  /** ms since the epoch: `deadline_21_10_0` (Timestamp, field 6) or now + `deadline` (Duration, field 7). */
  deadline?: number;
}

/** A BatchAppendReq; its parts are checked lazily so that errors are answered in-band per batch. */
export interface BatchAppendRequest {
  /** The correlation id's message bytes, echoed as is in the answer; undefined when absent. */
  correlation: Buffer | undefined;
  options: (() => BatchAppendOptions) | undefined;
  proposed: Array<() => ProposedEvent>;
  isFinal: boolean;
}

class Reader {
  position = 0;
  constructor(private readonly bytes: Buffer) {}

  get done(): boolean {
    return this.position >= this.bytes.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.position >= this.bytes.length) throw new Error("truncated varint");
      const byte = this.bytes[this.position++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, result);
    }
    throw new Error("malformed varint");
  }

  /** Small varints (tags, lengths) without bigint arithmetic. */
  small(): number {
    let result = 0;
    for (let multiplier = 1; multiplier < 2 ** 35; multiplier *= 128) {
      if (this.position >= this.bytes.length) throw new Error("truncated varint");
      const byte = this.bytes[this.position++]!;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
    }
    throw new Error("varint too long");
  }

  lengthDelimited(): Buffer {
    const length = this.small();
    const end = this.position + length;
    if (end > this.bytes.length) throw new Error("truncated field");
    const value = this.bytes.subarray(this.position, end);
    this.position = end;
    return value;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.position += 8;
    else if (wireType === 2) this.lengthDelimited();
    else if (wireType === 5) this.position += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
    if (this.position > this.bytes.length) throw new Error("truncated field");
  }

  /** Calls `field(number, wireType)` for every field; `field` returns false to skip it. */
  fields(field: (number: number, wireType: number) => boolean): void {
    while (!this.done) {
      const tag = this.small();
      const wireType = tag & 7;
      if (!field(Math.floor(tag / 8), wireType)) this.skip(wireType);
    }
  }
}

/** Decodes a BatchAppendReq; malformed protobuf throws (grpc-js answers the call with INTERNAL). */
export function decodeBatchAppendReq(bytes: Buffer): BatchAppendRequest {
  const request: BatchAppendRequest = { correlation: undefined, options: undefined, proposed: [], isFinal: false };
  const reader = new Reader(bytes);
  reader.fields((number, wireType) => {
    if (number === 1 && wireType === 2) request.correlation = reader.lengthDelimited();
    else if (number === 2 && wireType === 2) request.options = parseOptions(reader.lengthDelimited());
    else if (number === 3 && wireType === 2) request.proposed.push(parseProposed(reader.lengthDelimited()));
    else if (number === 4 && wireType === 0) request.isFinal = reader.varint() !== 0n;
    else return false;
    return true;
  });
  return request;
}

function parseOptions(bytes: Buffer): () => BatchAppendOptions {
  let streamName: Buffer = Buffer.alloc(0);
  let expected: ExpectedRevision | undefined;
  let deadline: number | undefined;
  const reader = new Reader(bytes);
  reader.fields((number, wireType) => {
    if (number === 1 && wireType === 2) streamName = streamNameBytes(reader.lengthDelimited());
    else if ((number === 6 || number === 7) && wireType === 2) {
      const ms = secondsAndNanosMs(reader.lengthDelimited());
      deadline = number === 6 ? ms : Date.now() + ms;
    }
    else if (number === 2 && wireType === 0) expected = { kind: "exact", revision: reader.varint() };
    else if (number >= 3 && number <= 5 && wireType === 2) {
      reader.lengthDelimited();
      expected = { kind: number === 3 ? "no_stream" : number === 4 ? "any" : "stream_exists" };
    } else return false;
    return true;
  });
  return () => {
    if (streamName.length === 0) throw new BadRequest("A stream name is required.");
    if (!expected) throw new BadRequest("An expected stream revision is required.");
    return { streamName: streamName.toString("utf8"), expected, deadline };
  };
}

/** google.protobuf.Timestamp or Duration { int64 seconds = 1; int32 nanos = 2; } in milliseconds. */
function secondsAndNanosMs(bytes: Buffer): number {
  let seconds = 0n;
  let nanos = 0n;
  const reader = new Reader(bytes);
  reader.fields((number, wireType) => {
    if (wireType !== 0 || (number !== 1 && number !== 2)) return false;
    if (number === 1) seconds = reader.varint();
    else nanos = reader.varint();
    return true;
  });
  return Number(BigInt.asIntN(64, seconds)) * 1000 + Number(BigInt.asIntN(64, nanos)) / 1e6;
}

/** StreamIdentifier { bytes stream_name = 3; } */
function streamNameBytes(identifier: Buffer): Buffer {
  let name: Buffer = Buffer.alloc(0);
  const reader = new Reader(identifier);
  reader.fields((number, wireType) => {
    if (number !== 3 || wireType !== 2) return false;
    name = reader.lengthDelimited();
    return true;
  });
  return name;
}

function parseProposed(bytes: Buffer): () => ProposedEvent {
  let id: Buffer | undefined;
  let type: string | undefined;
  let contentType: string | undefined;
  let metadata: Uint8Array = EMPTY;
  let data: Uint8Array = EMPTY;
  const reader = new Reader(bytes);
  reader.fields((number, wireType) => {
    if (wireType !== 2) return false;
    if (number === 1) id = reader.lengthDelimited();
    else if (number === 2) {
      const [key, value] = mapEntry(reader.lengthDelimited());
      if (key === "type") type = value;
      else if (key === "content-type") contentType = value;
    } else if (number === 3) metadata = reader.lengthDelimited();
    else if (number === 4) data = reader.lengthDelimited();
    else return false;
    return true;
  });
  return () => {
    if (!type || !contentType) throw missingRequiredMetadata();
    return { id: uuidText(id), type, contentType, data, metadata };
  };
}

function mapEntry(bytes: Buffer): [string, string] {
  let key = "";
  let value = "";
  const reader = new Reader(bytes);
  reader.fields((number, wireType) => {
    if (wireType !== 2 || (number !== 1 && number !== 2)) return false;
    const text = reader.lengthDelimited().toString("utf8");
    if (number === 1) key = text;
    else value = text;
    return true;
  });
  return [key, value];
}

/** UUID { oneof { Structured structured = 1 { int64 most = 1; int64 least = 2; }; string string = 2; } } */
function uuidText(bytes: Buffer | undefined): string {
  if (!bytes) throw new BadRequest("An event id is required.");
  let text = "";
  const reader = new Reader(bytes);
  reader.fields((number, wireType) => {
    if (number === 2 && wireType === 2) text = reader.lengthDelimited().toString("utf8").toLowerCase();
    else if (number === 1 && wireType === 2) text = structuredUuid(reader.lengthDelimited());
    else return false;
    return true;
  });
  if (!UUID_PATTERN.test(text)) throw new BadRequest(`Invalid event id: "${text}".`);
  return text;
}

function structuredUuid(bytes: Buffer): string {
  let most = 0n;
  let least = 0n;
  const reader = new Reader(bytes);
  reader.fields((number, wireType) => {
    if (wireType !== 0 || (number !== 1 && number !== 2)) return false;
    if (number === 1) most = reader.varint();
    else least = reader.varint();
    return true;
  });
  const hex = most.toString(16).padStart(16, "0") + least.toString(16).padStart(16, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * BatchAppendResp { correlation_id = 1, success = 3 { current_revision = 1 | no_stream = 2,
 * position = 3 | no_position = 4 }, stream_identifier = 4, expected: stream_position = 5 | no_stream = 6
 * | any = 7 | stream_exists = 8 }, in google-protobuf's field order.
 */
export function encodeBatchAppendSuccess(
  correlation: Buffer,
  streamName: string,
  expected: ExpectedRevision,
  revision: bigint,
  position: bigint,
): Buffer {
  const writer = new ByteWriter(128);
  writer.bytes(1, correlation);
  writer.message(3, (success) => {
    if (revision < 0n) success.bytes(2, EMPTY);
    else uint64Always(success, 1, revision);
    if (position < 0n) success.bytes(4, EMPTY);
    else
      success.message(3, (all) => {
        all.uint64(1, position);
        all.uint64(2, position);
      });
  });
  writer.message(4, (identifier) => identifier.bytes(3, Buffer.from(streamName, "utf8")));
  if (expected.kind === "exact") uint64Always(writer, 5, expected.revision);
  else writer.bytes(expected.kind === "no_stream" ? 6 : expected.kind === "any" ? 7 : 8, EMPTY);
  return writer.finish();
}

/** A uint64 member of a oneof: google-protobuf writes it even when zero. */
function uint64Always(writer: ByteWriter, field: number, value: bigint): void {
  writer.tag(field, 0);
  writer.varint(value);
}
