// The command side as one gRPC server: the command services of the contexts it hosts, over the
// shared event store. Used by main.ts and, in-process, by the tests.
import type { Message } from "@bufbuild/protobuf";
import type { EventStoreDBClient } from "@eventstore/db-client";
import type { Logger } from "pino";
import { MemberCommandService } from "../../gen/eventmall/member/v1/commands_pb";
import { OrderCommandService } from "../../gen/eventmall/order/v1/commands_pb";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import type { TokenService } from "../../src/kernel/auth/auth";
import { bind, startGrpcServer, type ServiceBinding } from "../../src/kernel/grpc/server";
import { selectContexts } from "../../src/kernel/process/hosted-contexts";
import type { ReadDb } from "../../src/kernel/read/read-db";
import { AggregateRepository, type AggregateDefinition } from "../../src/kernel/write/repository";
import { memberCommandService, type MemberCommandDependencies } from "../../src/member/commands";
import { memberAggregate } from "../../src/member/decider";
import { orderCommandService } from "../../src/order/commands";
import { orderAggregate } from "../../src/order/decider";
import { productCommandService } from "../../src/product/commands";
import { productAggregate } from "../../src/product/decider";

export interface CommandServerOptions {
  eventStore: EventStoreDBClient;
  host?: string;
  port: number;
  snapshotEvery: number;
  maxConflictRetries: number;
  /** Aggregate states each repository keeps in memory (COMMAND_CACHE_SIZE); default: none. */
  cacheSize?: number;
  logger: Logger;
  /** Serve over TLS with this certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string };
  tokens: TokenService;
  /** Contexts whose command services to serve (config COMMAND_CONTEXTS); default: all. */
  contexts?: readonly string[];
  /** Member context settings beyond the defaults (ADMIN_LOGIN_IDS; tests: cost, grace, clock). */
  member?: Pick<MemberCommandDependencies, "adminLoginIds" | "passwordCost" | "reservationGraceMs" | "clock" | "onWithdrawn">;
  /** Read database (READ_DATABASE_URL): the order context prices orders from its catalog there. */
  readDb?: ReadDb;
  /**
   * Database with the member context's write-side member_credential table
   * (CREDENTIALS_DATABASE_URL); defaults to readDb, as that setting defaults to READ_DATABASE_URL.
   */
  credentialsDb?: ReadDb;
}

export interface RunningCommandServer {
  port: number;
  url: string;
  /** Stops accepting calls, then waits for pending snapshot writes. */
  close(): Promise<void>;
}

export async function startCommandServer(options: CommandServerOptions): Promise<RunningCommandServer> {
  const { eventStore, logger, tokens } = options;
  const repositories: { flushSnapshots(): Promise<void> }[] = [];
  function repositoryOf<State, Command, Event extends Message>(definition: AggregateDefinition<State, Command, Event>) {
    const repository = new AggregateRepository(eventStore, definition, { ...options, logger });
    repositories.push(repository);
    return repository;
  }

  // One line per context; a context's services are only built when it is hosted here.
  const contexts: Record<string, () => ServiceBinding[]> = {
    product: () => [bind(ProductCommandService, productCommandService({ repository: repositoryOf(productAggregate), logger, tokens }))],
    member: () => [
      bind(
        MemberCommandService,
        memberCommandService({
          client: eventStore,
          repository: repositoryOf(memberAggregate),
          credentialsDb: required(options.credentialsDb ?? options.readDb, "member", "credentialsDb"),
          logger,
          tokens,
          ...options.member,
        }),
      ),
    ],
    order: () => [bind(OrderCommandService, orderCommandService({ repository: repositoryOf(orderAggregate), readDb: required(options.readDb, "order", "readDb"), logger, tokens }))],
  };
  const services = selectContexts(contexts, options.contexts).flatMap((build) => build());

  const server = await startGrpcServer({ name: "command", host: options.host, port: options.port, services, logger, tls: options.tls });
  return {
    port: server.port,
    url: server.url,
    async close() {
      await server.close();
      await Promise.all(repositories.map((repository) => repository.flushSnapshots()));
    },
  };
}

function required<T>(value: T | undefined, context: string, option: string): T {
  if (value === undefined) throw new Error(`the ${context} context needs a database (${option})`);
  return value;
}
