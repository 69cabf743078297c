// The two ways catch-up builds read $all (inline through the caller's client, and in a worker
// thread with a client of its own) yield the same pages' events: same filter, same event fields
// (JSON and binary data), from the start or after a position.
import { randomUUID } from "node:crypto";
import { jsonEvent, binaryEvent } from "@eventstore/db-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineAllReader, workerAllReader, type AllReader } from "../../src/kernel/read/all-reader";
import type { ProjectedEvent } from "../../src/kernel/read/projector-checkpoint";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { seedProductEvents } from "./support";

let store: StoreUnderTest;
let middle: { commit: bigint; prepare: bigint };

beforeAll(async () => {
  store = await openStore();
  await seedProductEvents(store.client, 700, 7);
  const other = randomUUID();
  middle = (await store.client.appendToStream(`order-${other}`, [jsonEvent({ type: "OrderNoted", data: { note: "ünïcode ✓", n: 1 } })])).position!;
  await store.client.appendToStream(`product-${other}`, [binaryEvent({ type: "eventmall.product.v1.Blob", data: new Uint8Array([0, 1, 2, 255]), metadata: new Uint8Array([9]) })]);
  await seedProductEvents(store.client, 300, 3);
}, 120_000);

afterAll(async () => {
  await store?.close();
});

async function drain(reader: AllReader): Promise<{ events: ProjectedEvent[]; scanned: number; pages: number }> {
  const events: ProjectedEvent[] = [];
  let scanned = 0;
  let pages = 0;
  try {
    for (let page = await reader.next(); page; page = await reader.next()) {
      events.push(...page.events);
      scanned += page.scanned;
      pages++;
    }
  } finally {
    await reader.close();
  }
  return { events, scanned, pages };
}

describe("$all readers", () => {
  it("read the same events inline and in a worker thread", async () => {
    for (const options of [
      { filter: { streamPrefixes: ["product-"] }, pageSize: 128 },
      { filter: { eventTypePrefixes: ["OrderNoted", "eventmall.product.v1.Blob"] }, pageSize: 1_000 },
      { filter: { streamPrefixes: ["product-", "order-"] }, pageSize: 50, from: middle },
    ]) {
      const inline = await drain(inlineAllReader(store.client, options));
      const worker = await drain(workerAllReader(store.connectionString, options));
      expect(worker.events).toEqual(inline.events);
      expect(worker.scanned).toBe(inline.scanned);
      expect(inline.events.length).toBeGreaterThan(0);
      expect(worker.pages).toBeGreaterThan(0);
    }
    const all = await drain(workerAllReader(store.connectionString, { filter: { streamPrefixes: ["product-"] }, pageSize: 100 }));
    expect(all.events).toHaveLength(1_001);
    const blob = all.events.find((event) => event.type === "eventmall.product.v1.Blob")!;
    expect(blob.data).toEqual(new Uint8Array([0, 1, 2, 255]));
    expect(blob.metadata).toEqual(new Uint8Array([9]));
  }, 120_000);

  it("stops a worker read before the end when closed", async () => {
    const reader = workerAllReader(store.connectionString, { filter: { streamPrefixes: ["product-"] }, pageSize: 10 });
    const first = await reader.next();
    expect(first?.scanned).toBe(10);
    await reader.close();
  });
});
