// Every read model the projector process keeps up to date, and every process manager it runs:
// a context adds its projection or reactor here.
import type { EventStoreDBClient } from "@eventstore/db-client";
import type { Projection, Reactor } from "../../src/kernel/read/projector";
import { AggregateRepository, type RepositoryOptions } from "../../src/kernel/write/repository";
import { memberProjection } from "../../src/member/projection";
import { orderAggregate } from "../../src/order/decider";
import { orderProjection } from "../../src/order/projection";
import { orderCatalogProjection } from "../../src/order/projection-catalog";
import { stockReservation } from "../../src/order/stock-reservation";
import { productAggregate } from "../../src/product/decider";
import { productProjection } from "../../src/product/projection";
import { inventoryMovementsProjection } from "../../src/report/inventory-movements";

export const projections: Projection[] = [productProjection, memberProjection, orderProjection, orderCatalogProjection, inventoryMovementsProjection];

/** Reactors command aggregates, so they need the store and the repository settings. */
export function reactors(deps: { client: EventStoreDBClient } & RepositoryOptions): Reactor[] {
  const orders = new AggregateRepository(deps.client, orderAggregate, deps);
  const products = new AggregateRepository(deps.client, productAggregate, deps);
  return [stockReservation({ orders, products })];
}
