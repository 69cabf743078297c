// Direct protobuf encoding of the persistent ReadResp{event}, the hot path of delivery: the same
// bytes google-protobuf writes for the client's persistent.proto (checked by a test against the
// generated serializer). Sizes are computed first, then everything is written into one buffer.
import type { ReadEvent, StoredEvent } from "../log";

const VARINT = 0;
const LENGTH_DELIMITED = 2;
const TWO_POW_53 = 2n ** 53n;

function varintSize(value: bigint | number): number {
  if (typeof value === "number" || (value >= 0n && value < TWO_POW_53)) {
    let n = Number(value);
    let size = 1;
    while (n >= 0x80) {
      n = Math.floor(n / 0x80);
      size++;
    }
    return size;
  }
  let v = BigInt.asUintN(64, value);
  let size = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    size++;
  }
  return size;
}

const smallVarintSize = (value: number) => (value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5);
const delimitedSize = (length: number) => 1 + smallVarintSize(length) + length;

class Output {
  private offset = 0;
  constructor(readonly buffer: Buffer) {}

  varint(value: bigint | number): void {
    if (typeof value === "number" || (value >= 0n && value < TWO_POW_53)) {
      let v = Number(value);
      while (v >= 0x80) {
        this.buffer[this.offset++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      this.buffer[this.offset++] = v;
      return;
    }
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.buffer[this.offset++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buffer[this.offset++] = Number(v);
  }

  header(field: number, wireType: number, length?: number): void {
    this.buffer[this.offset++] = (field << 3) | wireType;
    if (length !== undefined) this.varint(length);
  }

  raw(bytes: Uint8Array): void {
    this.buffer.set(bytes, this.offset);
    this.offset += bytes.length;
  }
}

interface RecordPlan {
  event: StoredEvent;
  position: bigint;
  id: Buffer;
  stream: Buffer;
  entries: [Buffer, Buffer][];
  uuidSize: number;
  streamSize: number;
  size: number;
}

function planRecord(event: StoredEvent, position: bigint): RecordPlan {
  const id = Buffer.from(event.id, "utf8");
  const stream = Buffer.from(event.streamId, "utf8");
  // Map entries in key order, as google-protobuf writes them.
  const entries: [Buffer, Buffer][] = [
    [Buffer.from("content-type"), Buffer.from(event.contentType, "utf8")],
    [Buffer.from("created"), Buffer.from(event.created.toString())],
    [Buffer.from("type"), Buffer.from(event.type, "utf8")],
  ];
  const uuidSize = delimitedSize(id.length);
  const streamSize = stream.length > 0 ? delimitedSize(stream.length) : 0;
  let size = delimitedSize(uuidSize) + delimitedSize(streamSize);
  if (event.revision !== 0n) size += 1 + varintSize(event.revision);
  if (position !== 0n) size += 2 * (1 + varintSize(position));
  for (const [key, value] of entries) size += delimitedSize(delimitedSize(key.length) + delimitedSize(value.length));
  if (event.metadata.length > 0) size += delimitedSize(event.metadata.length);
  if (event.data.length > 0) size += delimitedSize(event.data.length);
  return { event, position, id, stream, entries, uuidSize, streamSize, size };
}

function writeRecord(out: Output, field: number, plan: RecordPlan): void {
  const { event, position } = plan;
  out.header(field, LENGTH_DELIMITED, plan.size);
  out.header(1, LENGTH_DELIMITED, plan.uuidSize);
  out.header(2, LENGTH_DELIMITED, plan.id.length);
  out.raw(plan.id);
  out.header(2, LENGTH_DELIMITED, plan.streamSize);
  if (plan.stream.length > 0) {
    out.header(3, LENGTH_DELIMITED, plan.stream.length);
    out.raw(plan.stream);
  }
  if (event.revision !== 0n) {
    out.header(3, VARINT);
    out.varint(event.revision);
  }
  if (position !== 0n) {
    out.header(4, VARINT);
    out.varint(position);
    out.header(5, VARINT);
    out.varint(position);
  }
  for (const [key, value] of plan.entries) {
    out.header(6, LENGTH_DELIMITED, delimitedSize(key.length) + delimitedSize(value.length));
    out.header(1, LENGTH_DELIMITED, key.length);
    out.raw(key);
    out.header(2, LENGTH_DELIMITED, value.length);
    out.raw(value);
  }
  if (event.metadata.length > 0) {
    out.header(7, LENGTH_DELIMITED, event.metadata.length);
    out.raw(event.metadata);
  }
  if (event.data.length > 0) {
    out.header(8, LENGTH_DELIMITED, event.data.length);
    out.raw(event.data);
  }
}

/** ReadResp{event}: both records carry the original's position (the link's when there is one). */
export function encodeEventResponse(entry: ReadEvent, retryCount: number): Buffer {
  const position = (entry.link ?? entry.event).position;
  const event = planRecord(entry.event, position);
  const link = entry.link ? planRecord(entry.link, position) : undefined;
  // commit_position and retry_count are oneof members: written even when zero.
  const readEventSize =
    delimitedSize(event.size) + (link ? delimitedSize(link.size) : 0) + 1 + varintSize(position) + 1 + varintSize(retryCount);
  const out = new Output(Buffer.allocUnsafe(delimitedSize(readEventSize)));
  out.header(1, LENGTH_DELIMITED, readEventSize);
  writeRecord(out, 1, event);
  if (link) writeRecord(out, 2, link);
  out.header(3, VARINT);
  out.varint(position);
  out.header(5, VARINT);
  out.varint(BigInt.asUintN(64, BigInt(retryCount)));
  return out.buffer;
}
