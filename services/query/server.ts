// The query process's gRPC server: every context's query service over the read database.
import type { Logger } from "pino";
import { ProductQueryService } from "../../gen/eventmall/product/v1/queries_pb";
import { bind, startGrpcServer } from "../../src/kernel/grpc/server";
import type { ReadDb } from "../../src/kernel/read-db";
import { productQueryService } from "../../src/product/queries";

export function startQueryServer(options: { db: ReadDb; host?: string; port: number; logger?: Logger; tls?: { certFile: string; keyFile: string } }) {
  return startGrpcServer({
    name: "query",
    host: options.host,
    port: options.port,
    logger: options.logger,
    tls: options.tls,
    services: [bind(ProductQueryService, productQueryService(options.db))],
  });
}
