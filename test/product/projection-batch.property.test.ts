// The product projection's applyBatch (live runs, catch-up builds, rebuilds) must leave the read
// model exactly as apply() on each event in turn would, on any run of product events: stale and
// out-of-order revisions, changes before creation, repeated creations, rows that exist already.
// Where the one-by-one path throws, the batch must throw too (the callers then go one by one).
import { create, toJson, type DescMessage } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  InventoryDecreasedSchema,
  InventoryIncreasedSchema,
  ProductCreatedSchema,
  ProductNameChangedSchema,
  ProductPriceChangedSchema,
  StockReleasedSchema,
  StockReservedSchema,
} from "../../gen/eventmall/product/v1/events_pb";
import type { ProjectedEvent } from "../../src/kernel/read/projector-checkpoint";
import { openReadDb, type ReadDb, type ReadTx } from "../../src/kernel/read/read-db";
import { productProjection } from "../../src/product/projection";
import { createMigratedReadDb, READ_DB_PROVIDERS, type TestReadDb } from "../support/read-db";

const PRODUCTS = ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003"];
const day = (n: number) => new Date(Date.UTC(2026, 0, 1 + n));

type Kind = "created" | "name" | "price" | "increased" | "decreased" | "reserved" | "released";
interface Spec {
  kind: Kind;
  product: number;
  revision: number;
  /** Day of the event's own timestamp; null: the event carries none (the store's time counts). */
  changedDay: number | null;
  amount: number;
  /** The event names another product than its stream's (a corrupt event). */
  foreign: boolean;
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  kind: fc.constantFrom<Kind>("created", "name", "price", "increased", "decreased", "reserved", "released"),
  product: fc.nat({ max: PRODUCTS.length - 1 }),
  revision: fc.nat({ max: 8 }),
  changedDay: fc.option(fc.nat({ max: 6 }), { nil: null }),
  amount: fc.nat({ max: 50 }),
  foreign: fc.nat({ max: 19 }).map((n) => n === 0),
});

function toEvent(spec: Spec, index: number): ProjectedEvent {
  const productId = PRODUCTS[spec.foreign ? (spec.product + 1) % PRODUCTS.length : spec.product]!;
  const at = spec.changedDay === null ? undefined : timestampFromDate(day(spec.changedDay));
  const quantity = BigInt(spec.amount);
  const message = (): [DescMessage, object] => {
    switch (spec.kind) {
      case "created":
        return [ProductCreatedSchema, { productId, name: `Name ${spec.amount}`, price: quantity, inventory: quantity, imagePath: "i.png", description: "d", createdAt: at }];
      case "name":
        return [ProductNameChangedSchema, { productId, name: `Renamed_${spec.amount}%`, changedAt: at }];
      case "price":
        return [ProductPriceChangedSchema, { productId, price: quantity, changedAt: at }];
      case "increased":
        return [InventoryIncreasedSchema, { productId, quantity, changedAt: at }];
      case "decreased":
        return [InventoryDecreasedSchema, { productId, quantity, changedAt: at }];
      case "reserved":
        return [StockReservedSchema, { productId, orderId: "o", quantity, changedAt: at }];
      case "released":
        return [StockReleasedSchema, { productId, orderId: "o", quantity, changedAt: at }];
    }
  };
  const [desc, init] = message();
  return {
    id: `00000000-0000-4000-9000-${String(index).padStart(12, "0")}`,
    streamId: `product-${PRODUCTS[spec.product]}`,
    revision: BigInt(spec.revision),
    type: desc.typeName,
    data: toJson(desc, create(desc as never, init as never)),
    metadata: {},
    created: day(3),
    position: { commit: BigInt(index + 1), prepare: BigInt(index + 1) },
  };
}

class RolledBack extends Error {
  constructor(readonly rows: unknown[]) {
    super("rolled back");
  }
}

/** Runs `work` in a transaction and rolls it back, returning the product rows it left (or its error). */
async function rowsAfter(db: ReadDb, work: (tx: ReadTx) => Promise<void>): Promise<{ rows: unknown[] } | { error: string }> {
  try {
    await db.$transaction(async (tx) => {
      await work(tx);
      throw new RolledBack(await tx.product.findMany({ orderBy: { id: "asc" } }));
    });
    throw new Error("unreachable");
  } catch (error) {
    if (error instanceof RolledBack) return { rows: error.rows };
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

const RUNS = 300;

describe.each(READ_DB_PROVIDERS)("productProjection.applyBatch on %s", (provider) => {
  let readDb: TestReadDb;
  let db: ReadDb;

  beforeAll(async () => {
    readDb = await createMigratedReadDb(provider);
    db = await openReadDb(readDb.url);
  });

  afterAll(async () => {
    await db.$disconnect();
    await readDb.drop();
  });

  it("leaves the rows apply() would leave, one event at a time, or fails where apply() fails", async () => {
    let batchesThatApplied = 0;
    let batchesThatFailed = 0;
    await fc.assert(
      fc.asyncProperty(fc.subarray([0, 1, 2]), fc.array(specArb, { maxLength: 6 }), fc.array(specArb, { minLength: 1, maxLength: 25 }), async (existing, before, run) => {
        // Rows that exist before the run (most runs in production meet existing rows), then a few
        // more events of any kind.
        const creations: Spec[] = existing.map((product) => ({ kind: "created", product, revision: 0, changedDay: 0, amount: 5, foreign: false }));
        const earlier = [...creations, ...before].map(toEvent);
        const events = run.map((spec, i) => toEvent(spec, earlier.length + i));
        // What was applied before the run may itself fail one by one: those events are skipped
        // (retried later) the same way on both sides.
        const applyEarlier = async (tx: ReadTx) => {
          for (const event of earlier) await productProjection.apply(tx, event).catch(() => undefined);
        };
        const oneByOne = await rowsAfter(db, async (tx) => {
          await applyEarlier(tx);
          for (const event of events) await productProjection.apply(tx, event);
        });
        const batched = await rowsAfter(db, async (tx) => {
          await applyEarlier(tx);
          await productProjection.applyBatch!(tx, events);
        });
        if ("error" in oneByOne) {
          batchesThatFailed++;
          expect(batched).toHaveProperty("error");
        } else {
          batchesThatApplied++;
          expect(batched).toEqual(oneByOne);
        }
      }),
      { numRuns: RUNS },
    );
    // Both outcomes were exercised (a generator that never reaches one would prove nothing).
    expect(batchesThatApplied).toBeGreaterThan(RUNS / 10);
    expect(batchesThatFailed).toBeGreaterThan(RUNS / 10);
  });
});
