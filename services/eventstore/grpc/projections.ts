// Projections.Enable / Disable for the system projections this store keeps ($by_category,
// $by_event_type, $streams). Only these two methods are registered (and so advertised by
// ServerFeatures); user-defined (JavaScript) projections are not supported, and the other
// Projections methods answer UNIMPLEMENTED.
import { status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { isSystemProjection, type SystemProjections } from "../system-projections";
import { projectionsGrpc, projectionsPb } from "./proto";
import type { RegisteredService } from "./server-features";

interface NamedRequest {
  getOptions(): { getName(): string } | undefined;
}

function switchHandler(projections: SystemProjections, running: boolean, response: () => unknown) {
  return (call: ServerUnaryCall<NamedRequest, unknown>, callback: sendUnaryData<unknown>) => {
    const name = call.request.getOptions()?.getName() ?? "";
    if (!name) return callback({ code: status.INVALID_ARGUMENT, details: "A projection name is required." });
    if (!isSystemProjection(name)) return callback({ code: status.NOT_FOUND, details: `Projection '${name}' not found.` });
    projections.set(name, running).then(
      () => callback(null, response()),
      (error: Error) => callback({ code: status.UNAVAILABLE, details: error.message }),
    );
  };
}

export function projectionsService(projections: SystemProjections): RegisteredService {
  const full = projectionsGrpc.ProjectionsService;
  return {
    definition: { enable: full.enable, disable: full.disable },
    implementation: {
      enable: switchHandler(projections, true, () => new projectionsPb.EnableResp()),
      disable: switchHandler(projections, false, () => new projectionsPb.DisableResp()),
    },
  };
}
