// The command side as one gRPC server: every context's command service over the shared
// event store. Used by main.ts and, in-process, by the tests.
import type { Message } from "@bufbuild/protobuf";
import type { EventStoreDBClient } from "@eventstore/db-client";
import type { Logger } from "pino";
import { ProductCommandService } from "../../gen/eventmall/product/v1/commands_pb";
import { bind, startGrpcServer } from "../../src/kernel/grpc/server";
import { AggregateRepository, type AggregateDefinition } from "../../src/kernel/repository";
import { productCommandService } from "../../src/product/commands";
import { productAggregate } from "../../src/product/decider";

export interface CommandServerOptions {
  eventStore: EventStoreDBClient;
  host?: string;
  port: number;
  snapshotEvery: number;
  maxConflictRetries: number;
  logger: Logger;
}

export interface RunningCommandServer {
  port: number;
  url: string;
  /** Stops accepting calls, then waits for pending snapshot writes. */
  close(): Promise<void>;
}

export async function startCommandServer(options: CommandServerOptions): Promise<RunningCommandServer> {
  const { eventStore, logger } = options;
  const repositories: { flushSnapshots(): Promise<void> }[] = [];
  function repositoryOf<State, Command, Event extends Message>(definition: AggregateDefinition<State, Command, Event>) {
    const repository = new AggregateRepository(eventStore, definition, { ...options, logger });
    repositories.push(repository);
    return repository;
  }

  const services = [
    bind(ProductCommandService, productCommandService({ repository: repositoryOf(productAggregate), logger })),
    // Member and Order command services join here, one line each.
  ];

  const server = await startGrpcServer({ name: "command", host: options.host, port: options.port, services, logger });
  return {
    port: server.port,
    url: server.url,
    async close() {
      await server.close();
      await Promise.all(repositories.map((repository) => repository.flushSnapshots()));
    },
  };
}
