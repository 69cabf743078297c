// The hand-written BatchAppend codec agrees with google-protobuf (embedded-store unit test): requests
// decode to what the client's messages hold, success answers are byte-identical.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeBatchAppendReq, encodeBatchAppendSuccess } from "../../services/eventstore/grpc/batch-append-codec";
import { emptyPb, sharedPb, streamsPb } from "../../services/eventstore/grpc/proto";
import type { ExpectedRevision } from "../../services/eventstore/log";

const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const expectedRevision: fc.Arbitrary<ExpectedRevision> = fc.oneof(
  uint64.map((revision) => ({ kind: "exact" as const, revision })),
  fc.constantFrom<ExpectedRevision>({ kind: "no_stream" }, { kind: "any" }, { kind: "stream_exists" }),
);
const event = fc.record({
  id: fc.uuid(),
  structuredId: fc.boolean(),
  type: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
  contentType: fc.constantFrom("application/json", "application/octet-stream", undefined),
  data: fc.uint8Array({ maxLength: 200 }),
  metadata: fc.uint8Array({ maxLength: 40 }),
});

function uuid(id: string, structured: boolean) {
  if (!structured) return new sharedPb.UUID().setString(id.toUpperCase());
  const hex = id.replaceAll("-", "");
  const parts = new sharedPb.UUID.Structured()
    .setMostSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)).toString())
    .setLeastSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(16)}`)).toString());
  return new sharedPb.UUID().setStructured(parts);
}

function setExpected(target: { setStreamPosition(v: string): unknown; setNoStream(v: unknown): unknown; setAny(v: unknown): unknown; setStreamExists(v: unknown): unknown }, expected: ExpectedRevision) {
  if (expected.kind === "exact") target.setStreamPosition(expected.revision.toString());
  else if (expected.kind === "no_stream") target.setNoStream(new emptyPb.Empty());
  else if (expected.kind === "any") target.setAny(new emptyPb.Empty());
  else target.setStreamExists(new emptyPb.Empty());
}

describe("BatchAppend codec", () => {
  it("decodes requests as google-protobuf encodes them", () => {
    fc.assert(
      fc.property(fc.uuid(), fc.option(fc.string({ maxLength: 30 }), { nil: undefined }), expectedRevision, fc.array(event, { maxLength: 4 }), fc.boolean(), (correlation, stream, expected, events, isFinal) => {
        const request = new streamsPb.BatchAppendReq().setCorrelationId(uuid(correlation, false)).setIsFinal(isFinal);
        if (stream !== undefined) {
          const options = new streamsPb.BatchAppendReq.Options().setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(Buffer.from(stream)));
          setExpected(options, expected);
          request.setOptions(options);
        }
        for (const e of events) {
          const message = new streamsPb.BatchAppendReq.ProposedMessage().setId(uuid(e.id, e.structuredId)).setData(e.data).setCustomMetadata(e.metadata);
          if (e.type !== undefined) message.getMetadataMap().set("type", e.type);
          if (e.contentType !== undefined) message.getMetadataMap().set("content-type", e.contentType);
          request.addProposedMessages(message);
        }
        const decoded = decodeBatchAppendReq(Buffer.from(request.serializeBinary()));
        expect(decoded.isFinal).toBe(isFinal);
        expect(sharedPb.UUID.deserializeBinary(decoded.correlation!).getString()).toBe(correlation.toUpperCase());
        if (stream === undefined) expect(decoded.options).toBeUndefined();
        else if (stream === "") expect(() => decoded.options!()).toThrow("A stream name is required.");
        else expect(decoded.options!()).toEqual({ streamName: stream, expected });
        decoded.proposed.forEach((proposed, i) => {
          const e = events[i]!;
          if (!e.type || !e.contentType) return expect(proposed).toThrow();
          expect(proposed()).toEqual({ id: e.id, type: e.type, contentType: e.contentType, data: Buffer.from(e.data), metadata: Buffer.from(e.metadata) });
        });
        expect(decoded.proposed).toHaveLength(events.length);
      }),
      { numRuns: 300 },
    );
  });

  it("encodes success answers byte for byte as google-protobuf", () => {
    fc.assert(
      fc.property(fc.uuid(), fc.string({ minLength: 1, maxLength: 30 }), expectedRevision, fc.bigInt({ min: -1n, max: 2n ** 63n - 1n }), fc.bigInt({ min: -1n, max: 2n ** 63n - 1n }), (correlation, stream, expected, revision, position) => {
        const correlationId = uuid(correlation, true);
        const response = new streamsPb.BatchAppendResp().setCorrelationId(correlationId).setStreamIdentifier(new sharedPb.StreamIdentifier().setStreamName(Buffer.from(stream)));
        setExpected(response, expected);
        const success = new streamsPb.BatchAppendResp.Success();
        if (revision < 0n) success.setNoStream(new emptyPb.Empty());
        else success.setCurrentRevision(revision.toString());
        if (position < 0n) success.setNoPosition(new emptyPb.Empty());
        else success.setPosition(new sharedPb.AllStreamPosition().setCommitPosition(position.toString()).setPreparePosition(position.toString()));
        response.setSuccess(success);
        const ours = encodeBatchAppendSuccess(Buffer.from(correlationId.serializeBinary()), stream, expected, revision, position);
        expect(ours.equals(Buffer.from(response.serializeBinary()))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
