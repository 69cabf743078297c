// Every read model the projector process keeps up to date, and every process manager it runs: what
// the context modules (src/modules.ts) declare.
import type { Message } from "@bufbuild/protobuf";
import type { EventStoreDBClient } from "@eventstore/db-client";
import { contextModules } from "../../src/modules";
import type { Projection, Reactor } from "../../src/kernel/read/projector";
import type { AggregateDefinition } from "../../src/kernel/write/aggregate";
import { AggregateRepository, type RepositoryOptions } from "../../src/kernel/write/repository";

export const projections: Projection[] = contextModules.flatMap((module) => module.projections ?? []);

/** Reactors command aggregates, so they need the store and the repository settings. */
export function reactors(deps: { client: EventStoreDBClient } & RepositoryOptions): Reactor[] {
  const repositoryOf = <S, C, E extends Message>(definition: AggregateDefinition<S, C, E>) => new AggregateRepository(deps.client, definition, deps);
  const host = { eventStore: deps.client, repositoryOf };
  return contextModules.flatMap((module) => module.reactors?.(host) ?? []);
}
