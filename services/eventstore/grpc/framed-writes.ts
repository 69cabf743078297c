// Many Read responses per HTTP/2 write. grpc-js frames and writes every message on its own: one
// http2 stream write, one completion callback and one event-loop turn per event, which made a
// 10,000-event read cost 10,000 writes. Here a page of responses is encoded straight into one buffer of
// gRPC length-prefixed messages and handed to grpc-js as one "message" that it writes as is.
//
// This relies on grpc-js (1.x) internals: the base call behind a server stream (reached through the
// interceptors' `nextCall` links; interceptors pass messages on untouched) has a
// `serializeMessage(value)` that returns the framed bytes to write. It is replaced per call, only for
// values of type FramedMessages; everything else goes through grpc-js unchanged. Where the internals
// are absent (another grpc-js), responses are written one by one, as before.
import type { ServerWritableStream } from "@grpc/grpc-js";
import { ByteWriter, writeReadResp } from "./read-encoding";
import type { ReadEvent } from "../log";

/** Bytes that already are one or more complete gRPC messages (5-byte prefix each). */
export class FramedMessages {
  constructor(readonly bytes: Buffer) {}
}

interface FramingCall {
  serializeMessage?(value: unknown): Buffer;
  nextCall?: FramingCall;
}

/** The base call under any interceptors, if it frames messages as expected. */
function framingCall(call: ServerWritableStream<unknown, unknown>): FramingCall | undefined {
  let inner = (call as unknown as { call?: FramingCall }).call;
  for (let depth = 0; inner && depth < 16; depth += 1) {
    if (typeof inner.serializeMessage === "function") return inner;
    inner = inner.nextCall;
  }
  return undefined;
}

const enabled = new WeakSet<object>();

/** Lets `call` take FramedMessages values. Returns false if this grpc-js does not allow it. */
export function acceptFramedMessages(call: ServerWritableStream<unknown, unknown>): boolean {
  if (enabled.has(call)) return true;
  const inner = framingCall(call);
  const original = inner?.serializeMessage;
  if (!inner || !original) return false;
  inner.serializeMessage = (value: unknown) => (value instanceof FramedMessages ? value.bytes : original.call(inner, value));
  enabled.add(call);
  return true;
}

/**
 * A batch starts small and doubles as it fills. Starting at 64 KiB cost every answer, one append's
 * included, a fresh 64 KiB ArrayBuffer: at 500 appends/s that external memory forced a full
 * mark-compact of the store's heap three times a second, each stalling every call in flight.
 */
const BATCH_START_BYTES = 2048;

/** A batch above this size is written at once; it bounds the memory a read holds per write. */
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * Collects responses (encoded events, or other messages already serialized) and writes them in as
 * few writes as possible. `flush()` returns what the stream's write returned (false = wait for drain).
 */
export class ResponseBatch {
  private readonly framed: boolean;
  private writer: ByteWriter | undefined;
  private single: Buffer[] = [];
  private writable = true;

  constructor(private readonly call: ServerWritableStream<unknown, unknown>) {
    this.framed = acceptFramedMessages(call);
  }

  /** True when responses are batched (grpc-js internals as expected); false = one write per response. */
  get batched(): boolean {
    return this.framed;
  }

  event(entry: ReadEvent, structuredIds: boolean): void {
    if (!this.framed) {
      const writer = new ByteWriter();
      writeReadResp(writer, entry, structuredIds);
      this.single.push(writer.finish());
      return;
    }
    const writer = (this.writer ??= new ByteWriter(BATCH_START_BYTES));
    writer.frame((message) => writeReadResp(message, entry, structuredIds));
    if (writer.size >= MAX_BATCH_BYTES) this.flush();
  }

  /** A response already serialized (e.g. by google-protobuf). */
  message(bytes: Uint8Array): void {
    if (!this.framed) {
      this.single.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return;
    }
    const writer = (this.writer ??= new ByteWriter(bytes.length + 5));
    writer.frame((message) => message.raw(bytes));
    if (writer.size >= MAX_BATCH_BYTES) this.flush();
  }

  /** Writes what is pending. Returns false if the client is behind (since the last flush that wrote). */
  flush(): boolean {
    const call = this.call as unknown as { write(value: unknown): boolean };
    if (this.writer && this.writer.size > 0) {
      this.writable = call.write(new FramedMessages(this.writer.finish())) && this.writable;
      this.writer = undefined;
    }
    for (const bytes of this.single) this.writable = call.write(bytes) && this.writable;
    this.single = [];
    const result = this.writable;
    this.writable = true;
    return result;
  }
}
