// Property: a snapshot taken at any point of any history, plus the events after it, gives
// the same state as replaying the whole history; snapshots survive storage as JSON.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DomainRuleViolation, replay } from "../../src/kernel/write/decider";
import {
  productDecider,
  productSnapshotCodec,
  type ProductCommand,
  type ProductEvent,
  type ProductState,
} from "../../src/product/decider";

const productId = "0f3c2a8e-51d4-4b8f-a1a2-3c4d5e6f7a8b";
const arbNow = fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true });
const arbName = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: "grapheme", maxLength: 210 }));
const arbAmount = fc.bigInt({ min: -3n, max: 1_000_000n });
// Few orders and lines, so reserve/release often hit the same reservation.
const arbOrderId = fc.constantFrom("order-a", "order-b", "3f1c2a8e-51d4-4b8f-a1a2-3c4d5e6f7a8b");
const arbLine = fc.integer({ min: 0, max: 3 });

const arbCommand: fc.Arbitrary<ProductCommand> = fc.oneof(
  fc.record({
    type: fc.constant("CreateProduct" as const),
    productId: fc.constant(productId),
    name: arbName,
    price: arbAmount,
    inventory: arbAmount,
    imagePath: fc.string(),
    description: fc.string({ unit: "grapheme" }),
    now: arbNow,
  }),
  fc.record({ type: fc.constant("ChangeProductName" as const), productId: fc.constant(productId), name: arbName, now: arbNow }),
  fc.record({ type: fc.constant("ChangeProductPrice" as const), productId: fc.constant(productId), price: arbAmount, now: arbNow }),
  fc.record({ type: fc.constant("IncreaseInventory" as const), productId: fc.constant(productId), quantity: arbAmount, now: arbNow }),
  fc.record({ type: fc.constant("DecreaseInventory" as const), productId: fc.constant(productId), quantity: arbAmount, now: arbNow }),
  fc.record({
    type: fc.constant("ReserveStock" as const),
    productId: fc.constant(productId),
    orderId: arbOrderId,
    line: arbLine,
    quantity: arbAmount,
    now: arbNow,
  }),
  fc.record({ type: fc.constant("ReleaseStock" as const), productId: fc.constant(productId), orderId: arbOrderId, line: arbLine, now: arbNow }),
);

/** Runs commands through the decider as the repository would, keeping only accepted events. */
function history(commands: ProductCommand[]): ProductEvent[] {
  const events: ProductEvent[] = [];
  let state = productDecider.initialState();
  for (const command of commands) {
    try {
      const decided = productDecider.decide(command, state);
      events.push(...decided);
      state = replay(productDecider, state, decided);
    } catch (error) {
      if (!(error instanceof DomainRuleViolation)) throw error;
    }
  }
  return events;
}

/** Encodes, stores as JSON text (as the store does), and decodes a snapshot. */
function throughSnapshot(state: ProductState): ProductState | undefined {
  const encoded = productSnapshotCodec.encode(state);
  return encoded === undefined ? undefined : productSnapshotCodec.decode(JSON.parse(JSON.stringify(encoded)));
}

const initial = () => productDecider.initialState();

describe("Product snapshots", () => {
  it("snapshot at any point + tail equals full replay", () => {
    fc.assert(
      fc.property(fc.array(arbCommand, { maxLength: 40 }), (commands) => {
        const events = history(commands);
        const full = replay(productDecider, initial(), events);
        for (let at = 0; at <= events.length; at++) {
          const head = replay(productDecider, initial(), events.slice(0, at));
          // Only existing products are snapshotted; before creation a load replays everything.
          const start = throughSnapshot(head) ?? initial();
          expect(replay(productDecider, start, events.slice(at))).toEqual(full);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("encode/decode round-trips every reachable product state", () => {
    fc.assert(
      fc.property(fc.array(arbCommand, { minLength: 1, maxLength: 30 }), (commands) => {
        const state = replay(productDecider, initial(), history(commands));
        if (!state.exists) {
          expect(productSnapshotCodec.encode(state)).toBeUndefined();
          return;
        }
        expect(throughSnapshot(state)).toEqual(state);
      }),
      { numRuns: 300 },
    );
  });
});
