// Given past events, when a command is decided, then these events (or this rule violation).
import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  InventoryDecreasedSchema,
  InventoryIncreasedSchema,
  ProductCreatedSchema,
  ProductNameChangedSchema,
  ProductPriceChangedSchema,
} from "../../gen/eventmall/product/v1/events_pb";
import { replay } from "../../src/kernel/write/decider";
import { productDecider, type ProductCommand, type ProductEvent } from "../../src/product/decider";
import { deciderSpec, violationOf } from "../support/decider-spec";

const productId = "7c0b8f5e-2a43-4e8e-9d0b-6a3f1f0c2b11";
const created = new Date("2026-01-02T03:04:05.678Z");
const now = new Date("2026-02-03T04:05:06.789Z");

const productCreated = create(ProductCreatedSchema, {
  productId,
  name: "Lamp",
  price: 1500n,
  inventory: 10n,
  imagePath: "/img/lamp.png",
  description: "A desk lamp",
  createdAt: timestampFromDate(created),
});

const given = deciderSpec(productDecider);


const createCommand = (overrides: Partial<Extract<ProductCommand, { type: "CreateProduct" }>> = {}): ProductCommand => ({
  type: "CreateProduct",
  productId,
  name: "Lamp",
  price: 1500n,
  inventory: 10n,
  imagePath: "/img/lamp.png",
  description: "A desk lamp",
  now: created,
  ...overrides,
});

describe("CreateProduct", () => {
  it("creates a product with a trimmed name and the command's time", () => {
    expect(given([]).when(createCommand({ name: "  Lamp  " }))()).toEqual([productCreated]);
  });

  it("rejects every bad field at once", () => {
    const violation = violationOf(given([]).when(createCommand({ name: "   ", price: 0n, inventory: -3n })));
    expect(violation.kind).toBe("invalid_argument");
    expect(violation.fieldViolations.map((v) => v.field)).toEqual(["name", "price", "inventory"]);
  });

  it("accepts a 200-character name and rejects 201 characters", () => {
    expect(given([]).when(createCommand({ name: "é".repeat(200) }))()).toHaveLength(1);
    const violation = violationOf(given([]).when(createCommand({ name: "é".repeat(201) })));
    expect(violation.fieldViolations).toEqual([{ field: "name", description: "must be at most 200 characters" }]);
  });

  it("accepts the minimum price and inventory of 1", () => {
    expect(given([]).when(createCommand({ price: 1n, inventory: 1n }))()).toHaveLength(1);
  });

  it("refuses to create a product that already exists", () => {
    expect(violationOf(given([productCreated]).when(createCommand())).kind).toBe("already_exists");
  });
});

describe("ChangeProductName", () => {
  it("changes the name", () => {
    expect(given([productCreated]).when({ type: "ChangeProductName", productId, name: " Desk lamp ", now })()).toEqual([
      create(ProductNameChangedSchema, { productId, name: "Desk lamp", changedAt: timestampFromDate(now) }),
    ]);
  });

  it("rejects an empty name", () => {
    const violation = violationOf(given([productCreated]).when({ type: "ChangeProductName", productId, name: "", now }));
    expect(violation.kind).toBe("invalid_argument");
    expect(violation.fieldViolations).toEqual([{ field: "name", description: "must not be empty" }]);
  });

  it("fails on a missing product", () => {
    expect(violationOf(given([]).when({ type: "ChangeProductName", productId, name: "X", now })).kind).toBe("not_found");
  });
});

describe("ChangeProductPrice", () => {
  it("changes the price", () => {
    expect(given([productCreated]).when({ type: "ChangeProductPrice", productId, price: 1n, now })()).toEqual([
      create(ProductPriceChangedSchema, { productId, price: 1n, changedAt: timestampFromDate(now) }),
    ]);
  });

  it("rejects a price below 1", () => {
    const violation = violationOf(given([productCreated]).when({ type: "ChangeProductPrice", productId, price: 0n, now }));
    expect(violation.fieldViolations).toEqual([{ field: "price", description: "must be at least 1" }]);
  });

  it("fails on a missing product", () => {
    expect(violationOf(given([]).when({ type: "ChangeProductPrice", productId, price: 5n, now })).kind).toBe("not_found");
  });
});

describe("IncreaseInventory", () => {
  it("adds stock", () => {
    expect(given([productCreated]).when({ type: "IncreaseInventory", productId, quantity: 5n, now })()).toEqual([
      create(InventoryIncreasedSchema, { productId, quantity: 5n, changedAt: timestampFromDate(now) }),
    ]);
  });

  it("rejects a quantity below 1 (a negative increase must not decrease stock)", () => {
    for (const quantity of [0n, -5n]) {
      const violation = violationOf(given([productCreated]).when({ type: "IncreaseInventory", productId, quantity, now }));
      expect(violation.fieldViolations).toEqual([{ field: "quantity", description: "must be at least 1" }]);
    }
  });

  it("refuses an increase that would overflow int64", () => {
    const violation = violationOf(
      given([productCreated]).when({ type: "IncreaseInventory", productId, quantity: 2n ** 63n - 10n, now }),
    );
    expect(violation.kind).toBe("failed_precondition");
  });

  it("fails on a missing product", () => {
    expect(violationOf(given([]).when({ type: "IncreaseInventory", productId, quantity: 1n, now })).kind).toBe("not_found");
  });
});

describe("DecreaseInventory", () => {
  const decreased = (quantity: bigint) => create(InventoryDecreasedSchema, { productId, quantity, changedAt: timestampFromDate(now) });

  it("takes stock down to exactly zero", () => {
    expect(given([productCreated]).when({ type: "DecreaseInventory", productId, quantity: 10n, now })()).toEqual([decreased(10n)]);
  });

  it("refuses to go below zero, counting every past change", () => {
    const history = [
      productCreated,
      create(InventoryIncreasedSchema, { productId, quantity: 5n, changedAt: timestampFromDate(now) }),
      decreased(12n),
    ];
    const violation = violationOf(given(history).when({ type: "DecreaseInventory", productId, quantity: 4n, now }));
    expect(violation.kind).toBe("failed_precondition");
    expect(violation.reason).toBe("INSUFFICIENT_INVENTORY");
    expect(given(history).when({ type: "DecreaseInventory", productId, quantity: 3n, now })()).toEqual([decreased(3n)]);
  });

  it("rejects a quantity below 1", () => {
    const violation = violationOf(given([productCreated]).when({ type: "DecreaseInventory", productId, quantity: 0n, now }));
    expect(violation.kind).toBe("invalid_argument");
  });

  it("fails on a missing product", () => {
    expect(violationOf(given([]).when({ type: "DecreaseInventory", productId, quantity: 1n, now })).kind).toBe("not_found");
  });
});

describe("evolve", () => {
  it("folds every event into the state deterministically", () => {
    const history: ProductEvent[] = [
      productCreated,
      create(ProductNameChangedSchema, { productId, name: "Desk lamp", changedAt: timestampFromDate(now) }),
      create(ProductPriceChangedSchema, { productId, price: 2000n, changedAt: timestampFromDate(now) }),
      create(InventoryIncreasedSchema, { productId, quantity: 7n, changedAt: timestampFromDate(now) }),
      create(InventoryDecreasedSchema, { productId, quantity: 4n, changedAt: timestampFromDate(now) }),
    ];
    const state = replay(productDecider, productDecider.initialState(), history);
    expect(state).toEqual({
      exists: true,
      productId,
      name: "Desk lamp",
      price: 2000n,
      inventory: 13n,
      imagePath: "/img/lamp.png",
      description: "A desk lamp",
      createdAt: timestampFromDate(created),
      reservations: new Map(),
    });
    expect(replay(productDecider, productDecider.initialState(), history)).toEqual(state);
  });
});
