// Product's public integration events (eventmall.integration.v1): what other services may rely on.
import {
  ProductCreatedSchema as PublicProductCreated,
  ProductPriceChangedSchema as PublicProductPriceChanged,
  ProductRenamedSchema,
  ProductStockChangedSchema,
  ProductStockChanged_Reason as StockReason,
} from "../../gen/eventmall/integration/v1/events_pb";
import {
  InventoryDecreasedSchema,
  InventoryIncreasedSchema,
  ProductCreatedSchema,
  ProductNameChangedSchema,
  ProductPriceChangedSchema,
  StockReleasedSchema,
  StockReservedSchema,
} from "../../gen/eventmall/product/v1/events_pb";
import { defineContextMapping, message, publish } from "../kernel/publisher/mapping";
import { productAggregate } from "./decider";

export const productIntegration = defineContextMapping({
  context: "product",
  aggregate: productAggregate,
  rules: [
    // image_path and description are presentation details of our shop, not part of the contract.
    publish(ProductCreatedSchema, (e) =>
      message(PublicProductCreated, { productId: e.productId, name: e.name, price: e.price, inventory: e.inventory, createdAt: e.createdAt }),
    ),
    publish(ProductNameChangedSchema, (e) => message(ProductRenamedSchema, { productId: e.productId, name: e.name, changedAt: e.changedAt })),
    publish(ProductPriceChangedSchema, (e) => message(PublicProductPriceChanged, { productId: e.productId, price: e.price, changedAt: e.changedAt })),
    publish(InventoryIncreasedSchema, (e) =>
      message(ProductStockChangedSchema, { productId: e.productId, delta: e.quantity, reason: StockReason.RESTOCKED, changedAt: e.changedAt }),
    ),
    publish(InventoryDecreasedSchema, (e) =>
      message(ProductStockChangedSchema, { productId: e.productId, delta: -e.quantity, reason: StockReason.WRITTEN_OFF, changedAt: e.changedAt }),
    ),
    publish(StockReservedSchema, (e) =>
      message(ProductStockChangedSchema, { productId: e.productId, delta: -e.quantity, reason: StockReason.RESERVED, orderId: e.orderId, changedAt: e.changedAt }),
    ),
    publish(StockReleasedSchema, (e) =>
      message(ProductStockChangedSchema, { productId: e.productId, delta: e.quantity, reason: StockReason.RELEASED, orderId: e.orderId, changedAt: e.changedAt }),
    ),
  ],
});
