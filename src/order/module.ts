// The Order context: checkout and the order's life. Commands: commands.ts → decider.ts, priced from
// the context's own product catalogue (projection-catalog.ts); stock is reserved by a process
// manager (stock-reservation.ts); read model: projection.ts, served by queries.ts.
import { OrderCommandService } from "../../gen/eventmall/order/v1/commands_pb";
import { OrderQueryService } from "../../gen/eventmall/order/v1/queries_pb";
import { bind } from "../kernel/grpc/server";
import type { ContextModule } from "../kernel/process/context-module";
import { productAggregate } from "../product/decider";
import { orderCommandService } from "./commands";
import { orderAggregate } from "./decider";
import { orderIntegration } from "./integration";
import { orderProjection } from "./projection";
import { orderCatalogProjection } from "./projection-catalog";
import { orderQueryService } from "./queries";
import { stockReservation } from "./stock-reservation";

export const orderModule: ContextModule = {
  name: "order",
  commandDatabases: ["read"],
  commandServices: (host) => [
    bind(OrderCommandService, orderCommandService({ repository: host.repositoryOf(orderAggregate), readDb: host.readDb(), logger: host.logger, tokens: host.tokens })),
  ],
  queryServices: (host) => [bind(OrderQueryService, orderQueryService(host.db, host.tokens, { readYourWrites: host.readYourWrites }))],
  projections: [orderProjection, orderCatalogProjection],
  reactors: (host) => [stockReservation({ orders: host.repositoryOf(orderAggregate), products: host.repositoryOf(productAggregate) })],
  integration: orderIntegration,
};
