// The hand-written ReadResp encoder produces exactly google-protobuf's bytes (embedded-store unit test).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encodeReadEvent } from "../../services/eventstore/grpc/read-encoding";
import { readEventMessage } from "../../services/eventstore/grpc/codec";
import type { StoredEvent } from "../../services/eventstore/log";

const storedEvent = fc.record({
  position: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
  streamId: fc.string({ minLength: 1, maxLength: 40 }),
  revision: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
  id: fc.uuid(),
  type: fc.string({ maxLength: 30 }),
  contentType: fc.constantFrom("application/json", "application/octet-stream"),
  data: fc.uint8Array({ maxLength: 300 }),
  metadata: fc.uint8Array({ maxLength: 50 }),
  created: fc.bigInt({ min: 0n, max: 2n ** 62n }),
}) satisfies fc.Arbitrary<StoredEvent>;

describe("ReadResp encoding", () => {
  it("matches google-protobuf for events, links and both id encodings", () => {
    fc.assert(
      fc.property(storedEvent, fc.option(storedEvent, { nil: undefined }), fc.boolean(), fc.boolean(), (event, link, structured, unresolved) => {
        const entry = link ? { event, link } : unresolved ? { event, unresolvedLink: true as const } : { event };
        const expected = Buffer.from(readEventMessage(entry, structured).serializeBinary());
        expect(encodeReadEvent(entry, structured).equals(expected)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
