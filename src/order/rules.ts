// Field rules of order requests, written once: the command handler applies them to a request
// before it prices anything, the decider applies them to PlaceOrder as a guard. Every broken rule
// is reported, with the field named as in the contract.
import type { PlaceOrderRequest } from "../../gen/eventmall/order/v1/commands_pb";
import { invalidArgument, type FieldViolation } from "../kernel/grpc/errors";
import { uuidViolation } from "../kernel/grpc/fields";

export const MAX_ORDER_ITEMS = 100;
export const MAX_LINE_QUANTITY = 10_000n;
const MAX_ADDRESS_LENGTH = 500;
const MAX_MESSAGE_LENGTH = 500;
const PHONE = /^\+?[0-9][0-9 ()-]{3,30}$/;

export interface RequestedLine {
  productId: string;
  quantity: bigint;
}

export interface Delivery {
  address: string;
  phone: string;
  message: string;
}

/** An order id from a request, lower-cased; INVALID_ARGUMENT on order_id otherwise. */
export function parseOrderId(orderId: string): string {
  const violation = uuidViolation("order_id", orderId, "must be an order id (UUID)");
  if (violation) throw invalidArgument([violation]);
  return orderId.toLowerCase();
}

export function itemCountViolations(count: number): FieldViolation[] {
  if (count === 0) return [{ field: "items", description: "must contain at least one item" }];
  if (count > MAX_ORDER_ITEMS) return [{ field: "items", description: `must contain at most ${MAX_ORDER_ITEMS} items` }];
  return [];
}

/** The first broken rule of one line (`field` is e.g. "items[0]"). */
export function lineViolation(field: string, line: RequestedLine): FieldViolation | undefined {
  const product = uuidViolation(`${field}.product_id`, line.productId, "must be a product id (UUID)");
  if (product) return product;
  if (line.quantity < 1n || line.quantity > MAX_LINE_QUANTITY) {
    return { field: `${field}.quantity`, description: `must be between 1 and ${MAX_LINE_QUANTITY}` };
  }
  return undefined;
}

/** Rules of trimmed delivery details. */
export function deliveryViolations({ address, phone, message }: Delivery): FieldViolation[] {
  const violations: FieldViolation[] = [];
  if (address === "") violations.push({ field: "delivery.address", description: "must not be empty" });
  else if ([...address].length > MAX_ADDRESS_LENGTH) violations.push({ field: "delivery.address", description: `must be at most ${MAX_ADDRESS_LENGTH} characters` });
  if (!PHONE.test(phone)) violations.push({ field: "delivery.phone", description: "must be a phone number (digits, spaces, + ( ) -)" });
  if ([...message].length > MAX_MESSAGE_LENGTH) violations.push({ field: "delivery.message", description: `must be at most ${MAX_MESSAGE_LENGTH} characters` });
  return violations;
}

/** Checks every field at once; merges items naming the same product (first position kept). */
export function readPlaceOrder(request: PlaceOrderRequest): { violations: FieldViolation[]; lines: RequestedLine[]; delivery: Delivery } {
  const violations = itemCountViolations(request.items.length);
  const merged = new Map<string, RequestedLine>();
  request.items.slice(0, MAX_ORDER_ITEMS).forEach((item, index) => {
    const field = `items[${index}]`;
    const problem = lineViolation(field, item);
    if (problem) {
      violations.push(problem);
      return;
    }
    const productId = item.productId.toLowerCase();
    const line = merged.get(productId);
    if (!line) merged.set(productId, { productId, quantity: item.quantity });
    else if ((line.quantity += item.quantity) > MAX_LINE_QUANTITY) {
      violations.push({ field: `${field}.quantity`, description: `items of one product must add up to at most ${MAX_LINE_QUANTITY}` });
    }
  });
  const delivery = {
    address: request.delivery?.address.trim() ?? "",
    phone: request.delivery?.phone.trim() ?? "",
    message: request.delivery?.message.trim() ?? "",
  };
  violations.push(...deliveryViolations(delivery));
  return { violations, lines: [...merged.values()], delivery };
}
