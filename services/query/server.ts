// The query process's gRPC server: the query services of the contexts it hosts, over the read
// database.
import type { EventStoreDBClient } from "@eventstore/db-client";
import type { Logger } from "pino";
import { ProjectionAdminService } from "../../gen/eventmall/admin/v1/admin_pb";
import { projectionAdminService } from "../../src/admin/projection-admin";
import type { TokenService } from "../../src/kernel/auth/auth";
import { bind, startGrpcServer, type ServiceBinding } from "../../src/kernel/grpc/server";
import { selectContexts } from "../../src/kernel/process/hosted-contexts";
import type { ReadDb } from "../../src/kernel/read/read-db";
import { ReadYourWrites } from "../../src/kernel/read/read-your-writes";
import { contextModules } from "../../src/modules";
import { projections } from "../projector/projections";

export interface QueryServerOptions {
  db: ReadDb;
  /** Verifies the bearer tokens of calls that need one. */
  tokens: TokenService;
  host?: string;
  port: number;
  logger?: Logger;
  tls?: { certFile: string; keyFile: string };
  /** Contexts whose query services to serve (config QUERY_CONTEXTS); default: all. */
  contexts?: readonly string[];
  /** The store: lets read-your-writes see past filtered-out writes; required for the projection admin service. */
  eventStore?: EventStoreDBClient;
  /** How long a query carrying a position_token waits (READ_YOUR_WRITES_TIMEOUT_MS). */
  readYourWritesTimeoutMs?: number;
}

export function startQueryServer(options: QueryServerOptions) {
  const { db, tokens, eventStore } = options;
  const readYourWrites = new ReadYourWrites({ db, client: eventStore, timeoutMs: options.readYourWritesTimeoutMs ?? 2000 });
  const host = { db, tokens, readYourWrites };
  const contexts: Record<string, () => ServiceBinding[]> = {};
  for (const module of contextModules) {
    const build = module.queryServices;
    if (build) contexts[module.name] = () => build(host);
  }
  const operations = eventStore ? [bind(ProjectionAdminService, projectionAdminService({ db, client: eventStore, tokens, projections }))] : [];
  return startGrpcServer({
    name: "query",
    host: options.host,
    port: options.port,
    logger: options.logger,
    tls: options.tls,
    services: [...selectContexts(contexts, options.contexts).flatMap((build) => build()), ...operations],
  });
}
