// The command side as one gRPC server: the command services of the contexts it hosts, over the
// shared event store. Used by main.ts and, in-process, by the tests.
import type { Message } from "@bufbuild/protobuf";
import type { EventStoreDBClient } from "@eventstore/db-client";
import type { Logger } from "pino";
import type { TokenService } from "../../src/kernel/auth/auth";
import { startGrpcServer, type ServiceBinding } from "../../src/kernel/grpc/server";
import type { CommandHost } from "../../src/kernel/process/context-module";
import { selectContexts } from "../../src/kernel/process/hosted-contexts";
import type { ReadDb } from "../../src/kernel/read/read-db";
import { AggregateRepository, type AggregateDefinition } from "../../src/kernel/write/repository";
import type { MemberSettings } from "../../src/member/module";
import { contextModules } from "../../src/modules";

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
  /** Settings per context beyond the defaults, by context name (member: src/member/module.ts MemberSettings). */
  settings?: { member?: MemberSettings } & Readonly<Record<string, unknown>>;
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

  const hostFor = (context: string): CommandHost => ({
    eventStore,
    logger,
    tokens,
    repositoryOf,
    readDb: () => required(options.readDb, context, "readDb"),
    writeSideDb: () => required(options.credentialsDb ?? options.readDb, context, "credentialsDb"),
    settings: <T>() => options.settings?.[context] as T | undefined,
  });
  // A context's services are only built when it is hosted here.
  const contexts: Record<string, () => ServiceBinding[]> = {};
  for (const module of contextModules) {
    const build = module.commandServices;
    if (build) contexts[module.name] = () => build(hostFor(module.name));
  }
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
