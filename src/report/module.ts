// Reports: read models built from other contexts' events only (no commands, no aggregate).
import { ReportQueryService } from "../../gen/eventmall/report/v1/queries_pb";
import { bind } from "../kernel/grpc/server";
import type { ContextModule } from "../kernel/process/context-module";
import { inventoryMovementsProjection } from "./inventory-movements";
import { reportQueryService } from "./queries";

export const reportModule: ContextModule = {
  name: "report",
  queryServices: (host) => [bind(ReportQueryService, reportQueryService(host.db, host.tokens, host.readYourWrites))],
  projections: [inventoryMovementsProjection],
};
