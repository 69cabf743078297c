// The query process's gRPC server: the query services of the contexts it hosts, over the read
// database.
import type { Logger } from "pino";
import { MemberQueryService } from "../../gen/eventmall/member/v1/queries_pb";
import { OrderQueryService } from "../../gen/eventmall/order/v1/queries_pb";
import { ProductQueryService } from "../../gen/eventmall/product/v1/queries_pb";
import type { TokenService } from "../../src/kernel/auth";
import { bind, startGrpcServer, type ServiceBinding } from "../../src/kernel/grpc/server";
import { selectContexts } from "../../src/kernel/hosted-contexts";
import type { ReadDb } from "../../src/kernel/read-db";
import { memberQueryService } from "../../src/member/queries";
import { orderQueryService } from "../../src/order/queries";
import { productQueryService } from "../../src/product/queries";

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
}

export function startQueryServer(options: QueryServerOptions) {
  const { db, tokens } = options;
  // One line per context.
  const contexts: Record<string, () => ServiceBinding[]> = {
    product: () => [bind(ProductQueryService, productQueryService(db))],
    member: () => [bind(MemberQueryService, memberQueryService(db, tokens))],
    order: () => [bind(OrderQueryService, orderQueryService(db, tokens))],
  };
  return startGrpcServer({
    name: "query",
    host: options.host,
    port: options.port,
    logger: options.logger,
    tls: options.tls,
    services: selectContexts(contexts, options.contexts).flatMap((build) => build()),
  });
}
