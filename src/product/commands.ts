// ProductCommandService: validates requests, runs the Product decider through the
// repository and answers with where the events landed.
import { randomUUID } from "node:crypto";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { ADMIN_ROLE, type TokenService } from "../kernel/auth/auth";
import { uuidViolation } from "../kernel/grpc/fields";
import type { ErrorLogger } from "../kernel/write/command-errors";
import { commandHandler } from "../kernel/write/command-handler";
import type { AggregateRepository, HandleResult } from "../kernel/write/repository";
import { writeResult } from "../kernel/write/write-result";
import { productCommandViolations, type ProductCommand, type ProductEvent, type ProductState } from "./decider";

export type ProductRepository = AggregateRepository<ProductState, ProductCommand, ProductEvent>;

export interface ProductCommandDependencies {
  repository: ProductRepository;
  logger: ErrorLogger;
  /** Every RPC needs an admin token. */
  tokens: TokenService;
  clock?: () => Date;
  newProductId?: () => string;
}

export function productCommandService(deps: ProductCommandDependencies): ServiceImpl<typeof ProductCommandService> {
  const clock = deps.clock ?? (() => new Date());
  const newProductId = deps.newProductId ?? randomUUID;
  const handler = commandHandler({ ...deps, fieldRules: productCommandViolations });

  /** Admin only; every bad field at once, then decides and appends; throws a ConnectError. */
  async function execute(
    context: HandlerContext,
    command: ProductCommand,
    expectedRevision?: bigint,
  ): Promise<HandleResult<ProductState, ProductEvent>> {
    await handler.authorize(context, ADMIN_ROLE);
    return handler.execute(context, {
      id: command.productId,
      command,
      expectedRevision,
      requestViolations: command.type === "CreateProduct" ? [] : [uuidViolation("product_id", command.productId, "must be a product id (UUID)")],
      invalidMessage: `invalid ${command.type} request`,
    });
  }

  const normalisedId = (productId: string) => productId.toLowerCase();

  return {
    async createProduct(request, context) {
      const productId = newProductId();
      const outcome = await execute(context, {
        type: "CreateProduct",
        productId,
        name: request.name,
        price: request.price,
        inventory: request.inventory,
        imagePath: request.imagePath,
        description: request.description,
        now: clock(),
      });
      return { productId, result: writeResult(outcome) };
    },

    async changeProductName(request, context) {
      const command: ProductCommand = { type: "ChangeProductName", productId: normalisedId(request.productId), name: request.name, now: clock() };
      return { result: writeResult(await execute(context, command, request.expectedRevision)) };
    },

    async changeProductPrice(request, context) {
      const command: ProductCommand = { type: "ChangeProductPrice", productId: normalisedId(request.productId), price: request.price, now: clock() };
      return { result: writeResult(await execute(context, command, request.expectedRevision)) };
    },

    async increaseInventory(request, context) {
      const command: ProductCommand = { type: "IncreaseInventory", productId: normalisedId(request.productId), quantity: request.quantity, now: clock() };
      const outcome = await execute(context, command, request.expectedRevision);
      return { result: writeResult(outcome), inventory: inventoryOf(outcome.state) };
    },

    async decreaseInventory(request, context) {
      const command: ProductCommand = { type: "DecreaseInventory", productId: normalisedId(request.productId), quantity: request.quantity, now: clock() };
      const outcome = await execute(context, command, request.expectedRevision);
      return { result: writeResult(outcome), inventory: inventoryOf(outcome.state) };
    },
  };
}

function inventoryOf(state: ProductState): bigint {
  return state.exists ? state.inventory : 0n;
}
