// A bounded context declares itself in one place (src/<context>/module.ts): its aggregates, the
// command and query services it serves, the read models it projects, the process managers it runs
// and the integration events it publishes. The processes (services/*) loop over the list of
// modules (src/modules.ts) and build only what the contexts they host declare.
import type { Message } from "@bufbuild/protobuf";
import type { EventStoreDBClient } from "@eventstore/db-client";
import type { Logger } from "pino";
import type { TokenService } from "../auth/auth";
import type { ServiceBinding } from "../grpc/server";
import type { ContextMapping } from "../publisher/mapping";
import type { Projection, Reactor } from "../read/projector";
import type { ReadDb } from "../read/read-db";
import type { ReadYourWrites } from "../read/read-your-writes";
import type { AggregateDefinition } from "../write/aggregate";
import type { AggregateRepository } from "../write/repository";
import { selectContexts } from "./hosted-contexts";

/** What the command process offers a context's command services. */
export interface CommandHost {
  eventStore: EventStoreDBClient;
  logger: Logger;
  tokens: TokenService;
  /** A repository for one of the context's aggregates, with the process's snapshot and cache settings. */
  repositoryOf<State, Command, Event extends Message>(definition: AggregateDefinition<State, Command, Event>): AggregateRepository<State, Command, Event>;
  /** The read database (throws when the process was given none). */
  readDb(): ReadDb;
  /** The database of write-side tables that cannot be rebuilt from events (defaults to the read database). */
  writeSideDb(): ReadDb;
  /** Settings the process was given for this context (tests, operators), if any. */
  settings<T>(): T | undefined;
}

/** What the query process offers a context's query services. */
export interface QueryHost {
  db: ReadDb;
  tokens: TokenService;
  readYourWrites: ReadYourWrites;
}

/** What the projector process offers a context's process managers. */
export interface ReactorHost {
  eventStore: EventStoreDBClient;
  repositoryOf<State, Command, Event extends Message>(definition: AggregateDefinition<State, Command, Event>): AggregateRepository<State, Command, Event>;
}

export interface ContextModule {
  /** The name COMMAND_CONTEXTS / QUERY_CONTEXTS select it by. */
  name: string;
  commandServices?(host: CommandHost): ServiceBinding[];
  queryServices?(host: QueryHost): ServiceBinding[];
  projections?: readonly Projection[];
  reactors?(host: ReactorHost): Reactor[];
  /** How its events become integration events (services/publisher). */
  integration?: ContextMapping;
  /**
   * Databases its command services use: "read" (a read model it decides with), "write-side" (tables
   * that cannot be rebuilt from events). The command process opens only what its contexts need.
   */
  commandDatabases?: readonly ("read" | "write-side")[];
}

/** The modules of the named contexts (all when unnamed); an unknown name is a startup error. */
export function hostedModules(modules: readonly ContextModule[], names: readonly string[] | undefined): ContextModule[] {
  return selectContexts(Object.fromEntries(modules.map((module) => [module.name, module])), names);
}
