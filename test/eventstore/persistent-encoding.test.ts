// The persistent ReadResp encoder writes exactly the bytes google-protobuf writes for the client's
// persistent.proto, for any event (a unit test of this store: no server involved).
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ReadEvent, StoredEvent } from "../../services/eventstore/log";
import { encodeEventResponse } from "../../services/eventstore/persistent/read-encoding";

const require = createRequire(import.meta.url);
const persistentPb = require("@eventstore/db-client/generated/persistent_pb");
const sharedPb = require("@eventstore/db-client/generated/shared_pb");

function referenceRecord(event: StoredEvent, position: bigint) {
  const recorded = new persistentPb.ReadResp.ReadEvent.RecordedEvent()
    .setId(new sharedPb.UUID().setString(event.id))
    .setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(Buffer.from(event.streamId, "utf8")))
    .setStreamRevision(event.revision.toString())
    .setPreparePosition(position.toString())
    .setCommitPosition(position.toString())
    .setCustomMetadata(event.metadata)
    .setData(event.data);
  const metadata = recorded.getMetadataMap();
  metadata.set("type", event.type);
  metadata.set("content-type", event.contentType);
  metadata.set("created", event.created.toString());
  return recorded;
}

function reference(entry: ReadEvent, retryCount: number): Buffer {
  const position = (entry.link ?? entry.event).position;
  const readEvent = new persistentPb.ReadResp.ReadEvent()
    .setEvent(referenceRecord(entry.event, position))
    .setCommitPosition(position.toString())
    .setRetryCount(retryCount);
  if (entry.link) readEvent.setLink(referenceRecord(entry.link, position));
  return Buffer.from(new persistentPb.ReadResp().setEvent(readEvent).serializeBinary());
}

const u64 = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n });
const storedEvent = fc.record({
  position: u64,
  streamId: fc.string({ unit: "grapheme", maxLength: 40 }),
  revision: u64,
  id: fc.uuid(),
  type: fc.string({ unit: "grapheme", maxLength: 30 }),
  contentType: fc.constantFrom("application/json", "application/octet-stream"),
  data: fc.uint8Array({ maxLength: 300 }),
  metadata: fc.uint8Array({ maxLength: 50 }),
  created: u64,
});

describe("persistent ReadResp encoding", () => {
  it("matches google-protobuf byte for byte", () => {
    fc.assert(
      fc.property(storedEvent, fc.option(storedEvent, { nil: undefined }), fc.integer({ min: 0, max: 1000 }), (event, link, retryCount) => {
        const entry: ReadEvent = link ? { event, link } : { event };
        expect(encodeEventResponse(entry, retryCount).equals(reference(entry, retryCount))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("handles large payloads", () => {
    const data = new Uint8Array(300_000).fill(7);
    const event: StoredEvent = {
      position: 2n ** 40n, streamId: "s", revision: 2n ** 33n, id: "8a1b2c3d-0000-4000-8000-000000000001",
      type: "Big", contentType: "application/octet-stream", data, metadata: new Uint8Array(), created: 1n,
    };
    expect(encodeEventResponse({ event }, 2).equals(reference({ event }, 2))).toBe(true);
  });
});
