// Given past events, when an order command is decided, then these events (or this violation).
import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
  OrderShippedSchema,
} from "../../gen/eventmall/order/v1/events_pb";
import { INT64_MAX, orderDecider, type OrderCommand } from "../../src/order/decider";
import { deciderSpec, violationOf } from "../support/decider-spec";

const orderId = "5a1e2d3c-4b5a-4697-8877-665544332211";
const memberId = "member-1";
const now = new Date("2026-03-04T05:06:07.890Z");
const at = timestampFromDate(now);
const lamp = "7c0b8f5e-2a43-4e8e-9d0b-6a3f1f0c2b11";
const desk = "8d1c9f6a-3b54-4f9f-8e1c-7b4a2a1d3c22";
const delivery = { address: "1 Main St", phone: "+82 10-1234-5678", message: "leave at the door" };

const place = (lines = [
  { productId: lamp, productName: "Lamp", unitPrice: 1500n, quantity: 2n },
  { productId: desk, productName: "Desk", unitPrice: 20000n, quantity: 1n },
]): OrderCommand => ({ type: "PlaceOrder", orderId, memberId, lines, delivery, now });

const placed = create(OrderPlacedSchema, {
  orderId,
  memberId,
  lines: [
    { line: 1, productId: lamp, productName: "Lamp", unitPrice: 1500n, quantity: 2n, lineTotal: 3000n },
    { line: 2, productId: desk, productName: "Desk", unitPrice: 20000n, quantity: 1n, lineTotal: 20000n },
  ],
  total: 23000n,
  delivery,
  placedAt: at,
});
const confirmed = create(OrderConfirmedSchema, { orderId, confirmedAt: at });
const rejected = create(OrderRejectedSchema, { orderId, reason: "INSUFFICIENT_INVENTORY", line: 2, detail: "only 0 left", rejectedAt: at });
const cancelled = create(OrderCancelledSchema, { orderId, cancelledAt: at });
const shipped = create(OrderShippedSchema, { orderId, shippedAt: at });

const confirm: OrderCommand = { type: "ConfirmOrder", orderId, now };
const reject: OrderCommand = { type: "RejectOrder", orderId, reason: "INSUFFICIENT_INVENTORY", line: 2, detail: "only 0 left", now };
const cancel: OrderCommand = { type: "CancelOrder", orderId, now };
const ship: OrderCommand = { type: "ShipOrder", orderId, now };

const given = deciderSpec(orderDecider);


describe("PlaceOrder", () => {
  it("places an order with numbered lines, a copy of each name and price, line totals and the total", () => {
    expect(given([]).when(place())()).toEqual([placed]);
    expect(given([placed]).state).toMatchObject({ exists: true, memberId, status: "placed" });
  });

  it("places an order once", () => {
    expect(violationOf(given([placed]).when(place())).kind).toBe("already_exists");
  });

  it("refuses an empty order and a total beyond int64", () => {
    expect(violationOf(given([]).when(place([]))).kind).toBe("invalid_argument");
    const huge = [{ productId: lamp, productName: "Lamp", unitPrice: INT64_MAX, quantity: 2n }];
    expect(violationOf(given([]).when(place(huge))).reason).toBe("ORDER_TOTAL_TOO_LARGE");
  });

  it("applies the request's field rules (rules.ts) to a command that did not come through the handler", () => {
    const lines = [{ productId: "nope", productName: "Lamp", unitPrice: 1n, quantity: 1n }, { productId: lamp, productName: "Lamp", unitPrice: 1n, quantity: 0n }];
    const command: OrderCommand = { type: "PlaceOrder", orderId, memberId, lines, delivery: { address: "", phone: "x", message: "" }, now };
    const violation = violationOf(given([]).when(command));
    expect(violation.kind).toBe("invalid_argument");
    expect(violation.fieldViolations.map((v) => v.field)).toEqual(["items[0].product_id", "items[1].quantity", "delivery.address", "delivery.phone"]);
  });
});

describe("the stock reservation outcome", () => {
  it("confirms a placed order, once", () => {
    expect(given([placed]).when(confirm)()).toEqual([confirmed]);
    expect(given([placed, confirmed]).when(confirm)()).toEqual([]);
  });

  it("rejects a placed order with the reason and the line, once", () => {
    expect(given([placed]).when(reject)()).toEqual([rejected]);
    expect(given([placed, rejected]).when(reject)()).toEqual([]);
    expect(given([placed, rejected]).state).toMatchObject({ status: "rejected" });
  });

  it("cannot confirm a rejected or cancelled order, nor reject a confirmed one", () => {
    expect(violationOf(given([placed, rejected]).when(confirm)).reason).toBe("ORDER_NOT_PENDING");
    expect(violationOf(given([placed, cancelled]).when(confirm)).reason).toBe("ORDER_NOT_PENDING");
    expect(violationOf(given([placed, confirmed]).when(reject)).reason).toBe("ORDER_NOT_PENDING");
  });
});

describe("CancelOrder", () => {
  it("cancels before shipping, pending or confirmed, and a repeat is a no-op", () => {
    expect(given([placed]).when(cancel)()).toEqual([cancelled]);
    expect(given([placed, confirmed]).when(cancel)()).toEqual([cancelled]);
    expect(given([placed, confirmed, cancelled]).when(cancel)()).toEqual([]);
  });

  it("cannot cancel a shipped or rejected order", () => {
    expect(violationOf(given([placed, confirmed, shipped]).when(cancel)).reason).toBe("ORDER_ALREADY_SHIPPED");
    expect(violationOf(given([placed, rejected]).when(cancel)).reason).toBe("ORDER_REJECTED");
  });

  it("cannot touch an order that does not exist", () => {
    expect(violationOf(given([]).when(cancel)).kind).toBe("not_found");
  });
});

describe("ShipOrder", () => {
  it("ships a confirmed order only", () => {
    expect(given([placed, confirmed]).when(ship)()).toEqual([shipped]);
    expect(given([placed, confirmed, shipped]).when(ship)()).toEqual([]);
    expect(violationOf(given([placed]).when(ship)).reason).toBe("ORDER_NOT_CONFIRMED");
    expect(violationOf(given([placed, confirmed, cancelled]).when(ship)).reason).toBe("ORDER_NOT_CONFIRMED");
  });
});
