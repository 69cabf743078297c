// The Member context: registration, login, profile, withdrawal. Commands: commands.ts → decider.ts
// (uniqueness through reservation streams, streams.ts; password hashes in the write-side
// member_credential table, credentials.ts); read model: projection.ts, served by queries.ts.
import { MemberCommandService } from "../../gen/eventmall/member/v1/commands_pb";
import { MemberQueryService } from "../../gen/eventmall/member/v1/queries_pb";
import { bind } from "../kernel/grpc/server";
import type { ContextModule } from "../kernel/process/context-module";
import { memberCommandService, type MemberCommandDependencies } from "./commands";
import { memberAggregate } from "./decider";
import { memberIntegration } from "./integration";
import { memberProjection } from "./projection";
import { memberQueryService } from "./queries";

/** What a process may set for the member context beyond the defaults (ADMIN_LOGIN_IDS; tests: cost, grace, clock). */
export type MemberSettings = Pick<MemberCommandDependencies, "adminLoginIds" | "passwordCost" | "reservationGraceMs" | "clock" | "onWithdrawn">;

export const memberModule: ContextModule = {
  name: "member",
  commandDatabases: ["write-side"],
  commandServices: (host) => [
    bind(
      MemberCommandService,
      memberCommandService({
        client: host.eventStore,
        repository: host.repositoryOf(memberAggregate),
        credentialsDb: host.writeSideDb(),
        logger: host.logger,
        tokens: host.tokens,
        ...host.settings<MemberSettings>(),
      }),
    ),
  ],
  queryServices: (host) => [bind(MemberQueryService, memberQueryService(host.db, host.tokens, host.readYourWrites))],
  projections: [memberProjection],
  integration: memberIntegration,
};
