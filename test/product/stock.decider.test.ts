// Stock reservations on the Product aggregate: given past events, when the order context's
// reservation process reserves or releases an order line, then these events (or this violation).
import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ProductCreatedSchema, StockReleasedSchema, StockReservedSchema } from "../../gen/eventmall/product/v1/events_pb";
import { productDecider, productSnapshotCodec, type ProductCommand } from "../../src/product/decider";
import { deciderSpec, violationOf } from "../support/decider-spec";

const productId = "7c0b8f5e-2a43-4e8e-9d0b-6a3f1f0c2b11";
const orderId = "0b6c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d";
const now = new Date("2026-02-03T04:05:06.789Z");
const changedAt = timestampFromDate(now);

const productCreated = create(ProductCreatedSchema, {
  productId,
  name: "Lamp",
  price: 1500n,
  inventory: 10n,
  imagePath: "",
  description: "",
  createdAt: timestampFromDate(new Date("2026-01-01T00:00:00Z")),
});
const reserved = (line: number, quantity: bigint, order = orderId) =>
  create(StockReservedSchema, { productId, orderId: order, line, quantity, changedAt });
const released = (line: number, quantity: bigint, order = orderId) =>
  create(StockReleasedSchema, { productId, orderId: order, line, quantity, changedAt });
const reserve = (line: number, quantity: bigint, order = orderId): ProductCommand => ({ type: "ReserveStock", productId, orderId: order, line, quantity, now });
const release = (line: number, order = orderId): ProductCommand => ({ type: "ReleaseStock", productId, orderId: order, line, now });

const given = deciderSpec(productDecider);


describe("ReserveStock", () => {
  it("takes stock for an order line", () => {
    expect(given([productCreated]).when(reserve(1, 4n))()).toEqual([reserved(1, 4n)]);
    expect(given([productCreated, reserved(1, 4n)]).state).toMatchObject({ inventory: 6n });
  });

  it("reserves an order line at most once: a repeated request takes nothing more", () => {
    expect(given([productCreated, reserved(1, 4n)]).when(reserve(1, 4n))()).toEqual([]);
  });

  it("keeps other lines and orders apart", () => {
    expect(given([productCreated, reserved(1, 4n)]).when(reserve(2, 4n))()).toEqual([reserved(2, 4n)]);
    const other = "other-order";
    expect(given([productCreated, reserved(1, 4n)]).when(reserve(1, 2n, other))()).toEqual([reserved(1, 2n, other)]);
  });

  it("refuses more than is in stock, so inventory never goes negative", () => {
    const violation = violationOf(given([productCreated, reserved(1, 8n)]).when(reserve(2, 3n)));
    expect(violation.kind).toBe("failed_precondition");
    expect(violation.reason).toBe("INSUFFICIENT_INVENTORY");
  });

  it("never re-takes a released line", () => {
    const violation = violationOf(given([productCreated, reserved(1, 4n), released(1, 4n)]).when(reserve(1, 4n)));
    expect(violation.reason).toBe("RESERVATION_RELEASED");
  });

  it("rejects bad quantities and lines, and unknown products", () => {
    expect(violationOf(given([productCreated]).when(reserve(1, 0n))).fieldViolations).toEqual([
      { field: "quantity", description: "must be at least 1" },
    ]);
    expect(violationOf(given([productCreated]).when(reserve(0, 1n))).fieldViolations).toEqual([
      { field: "line", description: "must be at least 1" },
    ]);
    expect(violationOf(given([]).when(reserve(1, 1n))).kind).toBe("not_found");
  });
});

describe("ReleaseStock", () => {
  it("gives back exactly what the line reserved", () => {
    expect(given([productCreated, reserved(1, 4n)]).when(release(1))()).toEqual([released(1, 4n)]);
    expect(given([productCreated, reserved(1, 4n), released(1, 4n)]).state).toMatchObject({ inventory: 10n });
  });

  it("is a no-op for a line never reserved or already released", () => {
    expect(given([productCreated]).when(release(1))()).toEqual([]);
    expect(given([productCreated, reserved(1, 4n), released(1, 4n)]).when(release(1))()).toEqual([]);
  });
});

describe("snapshots with reservations", () => {
  it("round-trip held and released reservations", () => {
    const { state } = given([productCreated, reserved(1, 4n), reserved(2, 1n), released(1, 4n)]);
    const encoded = productSnapshotCodec.encode(state);
    expect(productSnapshotCodec.decode(JSON.parse(JSON.stringify(encoded)))).toEqual(state);
  });

  it("a snapshot written before reservations existed decodes with none", () => {
    const { state } = given([productCreated]);
    const encoded = productSnapshotCodec.encode(state) as Record<string, unknown>;
    delete encoded.reservations;
    expect(productSnapshotCodec.decode(encoded)).toEqual(state);
  });
});
