// The Product context: catalogue and stock. Commands: src/product/commands.ts → decider.ts;
// read model: projection.ts, served by queries.ts; integration events: integration.ts.
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { ProductQueryService } from "../../gen/eventmall/product/v1/queries_pb";
import { bind } from "../kernel/grpc/server";
import type { ContextModule } from "../kernel/process/context-module";
import { productCommandService } from "./commands";
import { productAggregate } from "./decider";
import { productIntegration } from "./integration";
import { productProjection } from "./projection";
import { productQueryService } from "./queries";

export const productModule: ContextModule = {
  name: "product",
  commandServices: (host) => [bind(ProductCommandService, productCommandService({ repository: host.repositoryOf(productAggregate), logger: host.logger, tokens: host.tokens }))],
  queryServices: (host) => [bind(ProductQueryService, productQueryService(host.db, host.readYourWrites))],
  projections: [productProjection],
  integration: productIntegration,
};
