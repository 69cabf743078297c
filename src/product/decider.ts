// The Product aggregate: pure rules over its events. Time arrives in the command (`now`),
// so replaying the same events always yields the same state.
import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  InventoryDecreasedSchema,
  InventoryIncreasedSchema,
  ProductCreatedSchema,
  ProductNameChangedSchema,
  ProductPriceChangedSchema,
  ProductSnapshotSchema,
  StockReleasedSchema,
  StockReservedSchema,
  type InventoryDecreased,
  type InventoryIncreased,
  type ProductCreated,
  type ProductNameChanged,
  type ProductPriceChanged,
  type StockReleased,
  type StockReserved,
} from "../../gen/eventmall/product/v1/events_pb";
import { DomainRuleViolation, type Decider, type FieldViolation } from "../kernel/write/decider";
import { streamCategory, type AggregateDefinition } from "../kernel/write/aggregate";
import { EventCodec } from "../kernel/write/event-codec";
import type { SnapshotCodec } from "../kernel/write/snapshots";

/** Reason of every refusal for lack of stock (the product decider's, and the order context's early check). */
export const INSUFFICIENT_INVENTORY = "INSUFFICIENT_INVENTORY";

export const PRODUCT_NAME_MAX_LENGTH = 200;
const INT64_MAX = 2n ** 63n - 1n;

export interface Product {
  productId: string;
  name: string;
  price: bigint;
  inventory: bigint;
  imagePath: string;
  description: string;
  createdAt: Timestamp;
  /** Stock reservations by reservationKey(order, line); released ones stay as tombstones. */
  reservations: ReadonlyMap<string, StockReservation>;
}

export interface StockReservation {
  orderId: string;
  line: number;
  quantity: bigint;
  released: boolean;
}

/** One reservation per order line: the key that makes reserving idempotent. */
export function reservationKey(orderId: string, line: number): string {
  return `${orderId}#${line}`;
}

export type ProductState = { exists: false } | ({ exists: true } & Product);

export type ProductCommand =
  | {
      type: "CreateProduct";
      productId: string;
      name: string;
      price: bigint;
      inventory: bigint;
      imagePath: string;
      description: string;
      now: Date;
    }
  | { type: "ChangeProductName"; productId: string; name: string; now: Date }
  | { type: "ChangeProductPrice"; productId: string; price: bigint; now: Date }
  | { type: "IncreaseInventory"; productId: string; quantity: bigint; now: Date }
  | { type: "DecreaseInventory"; productId: string; quantity: bigint; now: Date }
  // Internal: issued by the order context's stock reservation process, not by the public service.
  | { type: "ReserveStock"; productId: string; orderId: string; line: number; quantity: bigint; now: Date }
  | { type: "ReleaseStock"; productId: string; orderId: string; line: number; now: Date };

export type ProductEvent =
  | ProductCreated
  | ProductNameChanged
  | ProductPriceChanged
  | InventoryIncreased
  | InventoryDecreased
  | StockReserved
  | StockReleased;

/** Product streams: "product-<id>" (snapshots "product_snapshot-<id>"). */
export const ProductStream = streamCategory("product");

export const productEventMessages = [
  ProductCreatedSchema,
  ProductNameChangedSchema,
  ProductPriceChangedSchema,
  InventoryIncreasedSchema,
  InventoryDecreasedSchema,
  StockReservedSchema,
  StockReleasedSchema,
] as const;

/** The codec of every product event: what the product projection and the order catalogue decode with. */
export const productEvents = new EventCodec(productEventMessages);

/** Every field rule of a command, each broken rule reported (field names as in the contract). */
export function productCommandViolations(command: ProductCommand): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const checkName = (name: string) => {
    const trimmed = name.trim();
    if (trimmed === "") violations.push({ field: "name", description: "must not be empty" });
    else if ([...trimmed].length > PRODUCT_NAME_MAX_LENGTH)
      violations.push({ field: "name", description: `must be at most ${PRODUCT_NAME_MAX_LENGTH} characters` });
  };
  const checkPositive = (field: string, value: bigint) => {
    if (value < 1n) violations.push({ field, description: "must be at least 1" });
  };
  switch (command.type) {
    case "CreateProduct":
      checkName(command.name);
      checkPositive("price", command.price);
      checkPositive("inventory", command.inventory);
      break;
    case "ChangeProductName":
      checkName(command.name);
      break;
    case "ChangeProductPrice":
      checkPositive("price", command.price);
      break;
    case "IncreaseInventory":
    case "DecreaseInventory":
      checkPositive("quantity", command.quantity);
      break;
    case "ReserveStock":
      checkPositive("quantity", command.quantity);
      checkOrderLine(violations, command.orderId, command.line);
      break;
    case "ReleaseStock":
      checkOrderLine(violations, command.orderId, command.line);
      break;
  }
  return violations;
}

function checkOrderLine(violations: FieldViolation[], orderId: string, line: number): void {
  if (orderId.trim() === "") violations.push({ field: "order_id", description: "must not be empty" });
  if (!Number.isInteger(line) || line < 1) violations.push({ field: "line", description: "must be at least 1" });
}

function decide(command: ProductCommand, state: ProductState): ProductEvent[] {
  const violations = productCommandViolations(command);
  if (violations.length > 0) throw DomainRuleViolation.invalidArgument(violations);
  const { productId } = command;
  const at = timestampFromDate(command.now);

  if (command.type === "CreateProduct") {
    if (state.exists) throw DomainRuleViolation.alreadyExists(`product ${productId} already exists`);
    return [
      create(ProductCreatedSchema, {
        productId,
        name: command.name.trim(),
        price: command.price,
        inventory: command.inventory,
        imagePath: command.imagePath,
        description: command.description,
        createdAt: at,
      }),
    ];
  }

  if (!state.exists) throw DomainRuleViolation.notFound(`product ${productId} not found`);
  switch (command.type) {
    case "ChangeProductName":
      return [create(ProductNameChangedSchema, { productId, name: command.name.trim(), changedAt: at })];
    case "ChangeProductPrice":
      return [create(ProductPriceChangedSchema, { productId, price: command.price, changedAt: at })];
    case "IncreaseInventory":
      if (state.inventory + command.quantity > INT64_MAX) {
        throw DomainRuleViolation.failedPrecondition(`inventory of product ${productId} would overflow`, "INVENTORY_OVERFLOW");
      }
      return [create(InventoryIncreasedSchema, { productId, quantity: command.quantity, changedAt: at })];
    case "DecreaseInventory":
      if (command.quantity > state.inventory) {
        throw DomainRuleViolation.failedPrecondition(
          `product ${productId} has ${state.inventory} in stock, cannot take ${command.quantity}`,
          INSUFFICIENT_INVENTORY,
        );
      }
      return [create(InventoryDecreasedSchema, { productId, quantity: command.quantity, changedAt: at })];
    case "ReserveStock": {
      const { orderId, line, quantity } = command;
      const existing = state.reservations.get(reservationKey(orderId, line));
      if (existing && !existing.released) return []; // already holds this line's stock
      if (existing) {
        throw DomainRuleViolation.failedPrecondition(
          `stock of order ${orderId} line ${line} was released and cannot be reserved again`,
          "RESERVATION_RELEASED",
        );
      }
      if (quantity > state.inventory) {
        throw DomainRuleViolation.failedPrecondition(
          `product ${productId} has ${state.inventory} in stock, cannot reserve ${quantity}`,
          INSUFFICIENT_INVENTORY,
        );
      }
      return [create(StockReservedSchema, { productId, orderId, line, quantity, changedAt: at })];
    }
    case "ReleaseStock": {
      const { orderId, line } = command;
      const existing = state.reservations.get(reservationKey(orderId, line));
      if (!existing || existing.released) return []; // nothing held: releasing is idempotent
      return [create(StockReleasedSchema, { productId, orderId, line, quantity: existing.quantity, changedAt: at })];
    }
  }
}

function evolve(state: ProductState, event: ProductEvent): ProductState {
  if (event.$typeName === "eventmall.product.v1.ProductCreated") {
    const { productId, name, price, inventory, imagePath, description } = event;
    return {
      exists: true,
      productId,
      name,
      price,
      inventory,
      imagePath,
      description,
      createdAt: event.createdAt ?? epoch(),
      reservations: new Map(),
    };
  }
  // Events of a product that was never created cannot come from this decider; ignore them.
  if (!state.exists) return state;
  switch (event.$typeName) {
    case "eventmall.product.v1.ProductNameChanged":
      return { ...state, name: event.name };
    case "eventmall.product.v1.ProductPriceChanged":
      return { ...state, price: event.price };
    case "eventmall.product.v1.InventoryIncreased":
      return { ...state, inventory: state.inventory + event.quantity };
    case "eventmall.product.v1.InventoryDecreased":
      return { ...state, inventory: state.inventory - event.quantity };
    case "eventmall.product.v1.StockReserved":
      return {
        ...state,
        inventory: state.inventory - event.quantity,
        reservations: withReservation(state.reservations, { orderId: event.orderId, line: event.line, quantity: event.quantity, released: false }),
      };
    case "eventmall.product.v1.StockReleased":
      return {
        ...state,
        inventory: state.inventory + event.quantity,
        reservations: withReservation(state.reservations, { orderId: event.orderId, line: event.line, quantity: event.quantity, released: true }),
      };
  }
}

function withReservation(reservations: ReadonlyMap<string, StockReservation>, reservation: StockReservation) {
  const next = new Map(reservations);
  next.set(reservationKey(reservation.orderId, reservation.line), reservation);
  return next;
}

function epoch(): Timestamp {
  return timestampFromDate(new Date(0));
}

export const productDecider: Decider<ProductState, ProductCommand, ProductEvent> = {
  initialState: () => ({ exists: false }),
  decide,
  evolve,
};

export const productSnapshotCodec: SnapshotCodec<ProductState> = {
  type: ProductSnapshotSchema.typeName,
  schemaVersion: 1,
  encode(state) {
    if (!state.exists) return undefined;
    const { exists: _exists, reservations, ...product } = state;
    const snapshot = create(ProductSnapshotSchema, { ...product, reservations: [...reservations.values()] });
    return toJson(ProductSnapshotSchema, snapshot) as never;
  },
  decode(data) {
    const { $typeName: _typeName, createdAt, reservations, ...product } = fromJson(ProductSnapshotSchema, data as never);
    const held = new Map<string, StockReservation>();
    for (const { orderId, line, quantity, released } of reservations) {
      held.set(reservationKey(orderId, line), { orderId, line, quantity, released });
    }
    return { exists: true, ...product, createdAt: createdAt ?? epoch(), reservations: held };
  },
};

export const productAggregate: AggregateDefinition<ProductState, ProductCommand, ProductEvent> = {
  stream: ProductStream,
  decider: productDecider,
  events: productEventMessages,
  snapshot: productSnapshotCodec,
};
