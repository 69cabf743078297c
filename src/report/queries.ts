// ReportQueryService: reads the report read models (eventually consistent; read-your-writes
// through position_token). Business figures, not a public catalogue: callers need the admin or
// the reports role.
import type { ServiceImpl } from "@connectrpc/connect";
import { ReportQueryService } from "../../gen/eventmall/report/v1/queries_pb";
import { ADMIN_ROLE, authenticate, hasRole, type TokenService } from "../kernel/auth/auth";
import { invalidArgument, permissionDenied, type FieldViolation } from "../kernel/grpc/errors";
import { uuidViolation } from "../kernel/grpc/fields";
import type { ReadDb } from "../kernel/read/read-db";
import type { ReadYourWrites } from "../kernel/read/read-your-writes";
import { inventoryMovementsProjection } from "./inventory-movements";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** A product has at most one row per day; this bounds one answer to a few years. */
const MAX_DAYS = 2_000;

/** Role for report readers who are not administrators (`npm run token -- --role reports`). */
export const REPORTS_ROLE = "reports";

export function reportQueryService(db: ReadDb, tokens: TokenService, readYourWrites: ReadYourWrites): ServiceImpl<typeof ReportQueryService> {
  return {
    async getInventoryMovements(request, context) {
      const caller = await authenticate(context, tokens);
      if (!hasRole(caller, ADMIN_ROLE) && !hasRole(caller, REPORTS_ROLE)) {
        throw permissionDenied(`reports require the ${ADMIN_ROLE} or ${REPORTS_ROLE} role`, "ROLE_REQUIRED");
      }
      const violations: FieldViolation[] = [];
      const badId = uuidViolation("product_id", request.productId);
      if (badId) violations.push(badId);
      for (const [field, value] of [["from_day", request.fromDay], ["to_day", request.toDay]] as const) {
        if (value !== "" && !isDay(value)) violations.push({ field, description: "must be a date YYYY-MM-DD (or empty)" });
      }
      if (violations.length > 0) throw invalidArgument(violations);
      await readYourWrites.waitFor(inventoryMovementsProjection, request.positionToken);
      const rows = await db.inventoryMovementDaily.findMany({
        where: {
          productId: request.productId.toLowerCase(),
          day: { ...(request.fromDay ? { gte: request.fromDay } : {}), ...(request.toDay ? { lte: request.toDay } : {}) },
        },
        orderBy: { day: "asc" },
        take: MAX_DAYS,
      });
      return { days: rows.map((row) => ({ day: row.day, increased: row.increased, decreased: row.decreased, movements: row.movements })) };
    },
  };
}

function isDay(value: string): boolean {
  return DAY.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);
}
