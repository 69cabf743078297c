// The publisher when things go wrong: SIGKILL mid-stream, the broker unreachable for a while, two
// replicas at once, bad configuration. Each test has its own JetStream stream and subject prefix.
import net from "node:net";
import { randomUUID } from "node:crypto";
import { EventStoreDBClient, jsonEvent } from "@eventstore/db-client";
import * as order from "../../gen/eventmall/order/v1/events_pb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as product from "../../gen/eventmall/product/v1/events_pb";
import { openBroker } from "../../src/kernel/publisher/broker";
import { listParked } from "../../src/kernel/publisher/state";
import { readPublisherStatus, replayParked } from "../../src/kernel/publisher/status";
import { integrationMappings } from "../../services/publisher/mappings";
import { startService, type ServiceProcess } from "../support/processes";
import { appendDomainEvents, eventually, jetStreamFixture, NATS_URL, orderAndUniqueness, type JetStreamFixture } from "./fixtures";

let eventstore: ServiceProcess;
let connectionString: string;
let client: EventStoreDBClient;
let fixture: JetStreamFixture | undefined;
const processes: ServiceProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  eventstore = startService("eventstore", {}, ["--port", "0", "--in-memory"]);
  [, connectionString] = (await eventstore.waitFor(/eventstore listening on (esdb:\/\/\S+)/)) as unknown as [string, string];
  client = EventStoreDBClient.connectionString(connectionString);
});

afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop(5_000)));
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await fixture?.dispose();
  fixture = undefined;
});

afterAll(async () => {
  await client?.dispose();
  await eventstore?.stop(5_000);
});

function publisher(env: Record<string, string>): ServiceProcess {
  const started = startService("publisher", env);
  processes.push(started);
  return started;
}

/** Appends `rounds` events to each of `products` new product streams (one append per event); returns their ids. */
async function productLoad(products: number, rounds: number): Promise<string[]> {
  const streams = Array.from({ length: products }, () => randomUUID());
  const ids: string[] = [];
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      streams.map(async (productId) => {
        const event =
          round === 0
            ? { schema: product.ProductCreatedSchema, init: { productId, name: "Widget", price: 100n, inventory: 1n } }
            : { schema: product.InventoryIncreasedSchema, init: { productId, quantity: BigInt(round) } };
        ids.push(...(await appendDomainEvents(client, `product-${productId}`, [event])));
      }),
    );
  }
  return ids;
}

/** Every id published exactly once, each stream in revision order. The store's $all is shared by the
 * file's tests, so the stream also holds earlier tests' events (once each, too). */
async function expectAllOnceInOrder(f: JetStreamFixture, ids: string[]): Promise<void> {
  await eventually(async () => (await publishedIds(f)).filter((id) => ids.includes(id)).length >= ids.length, 30_000, `${ids.length} messages`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const messages = await f.messages();
  expect(orderAndUniqueness(messages)).toEqual({ duplicates: 0, outOfOrder: [] });
  const published = new Set(messages.map((m) => m.msgId));
  expect(ids.filter((id) => !published.has(id))).toEqual([]);
}

async function publishedIds(f: JetStreamFixture): Promise<string[]> {
  return (await f.messages()).map((m) => m.msgId);
}

describe("publisher resilience", () => {
  it("loses nothing and duplicates nothing when SIGKILLed mid-stream and restarted", async () => {
    fixture = await jetStreamFixture();
    const f = fixture;
    // A checkpoint write only every 2 s: the kill lands well after the last one, so the restart
    // re-publishes what was already acknowledged and JetStream must drop it by Nats-Msg-Id.
    const env = f.env(connectionString, { PUBLISHER_CHECKPOINT_EVERY_MS: "2000" });
    const first = publisher(env);
    const load = productLoad(40, 30);
    await eventually(async () => (await f.count()) >= 150, 20_000, "some messages before the kill");
    first.child.kill("SIGKILL");
    await first.exited;
    const ids = await load;
    expect(await f.count()).toBeLessThan(ids.length);
    const second = publisher(env);
    await expectAllOnceInOrder(f, ids);
    await second.stop();
    const stopped = second.records().find((r) => r.msg === "publisher stopped following $all");
    expect(stopped?.duplicatesDropped).toBeGreaterThan(0);
  });

  it("backs off while the broker is unreachable, reports its lag, and catches up with nothing lost", async () => {
    fixture = await jetStreamFixture();
    const f = fixture;
    const proxy = await tcpProxy(4222);
    cleanups.push(() => proxy.close());
    const p = publisher(f.env(connectionString, { NATS_URL: `nats://127.0.0.1:${proxy.port}` }));
    const before = await productLoad(5, 2);
    const published = new Set<string>();
    const refresh = async () => (await publishedIds(f)).forEach((id) => published.add(id));
    const poll = setInterval(() => void refresh(), 200);
    cleanups.push(async () => clearInterval(poll));
    await eventually(async () => before.every((id) => published.has(id)), 20_000, "messages before the outage");

    proxy.cut();
    const during = await productLoad(5, 4);
    const broker = await openBroker({ url: NATS_URL, stream: f.stream, subjectPrefix: f.subjectPrefix, maxAgeMs: 0, duplicateWindowMs: 120_000, retention: "limits" }, "test status");
    cleanups.push(() => broker.close());
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const status = await readPublisherStatus(client, broker, integrationMappings);
    expect(status.lagEvents).toBeGreaterThanOrEqual(during.length);
    await refresh();
    expect(during.filter((id) => published.has(id))).toEqual([]);

    proxy.restore();
    await expectAllOnceInOrder(f, [...before, ...during]);
    await eventually(async () => (await readPublisherStatus(client, broker, integrationMappings)).lagEvents === 0, 10_000, "lag back to 0");
    expect(p.lines.join("\n")).toMatch(/backing off|publisher backing_off|publisher standby/);
  });

  it("two publishers at once: one publishes, no duplicates, per-aggregate order kept", async () => {
    fixture = await jetStreamFixture();
    const f = fixture;
    const a = publisher(f.env(connectionString));
    const b = publisher(f.env(connectionString));
    const ids = await productLoad(20, 10);
    await expectAllOnceInOrder(f, ids);
    const standby = [a, b].filter((p) => p.lines.some((line) => line.includes('"msg":"publisher standby"')));
    expect(standby.length).toBeGreaterThanOrEqual(1);
  });

  it("parks an event whose mapping keeps throwing, publishes the rest, and keeps it parked while a replay still fails", async () => {
    fixture = await jetStreamFixture();
    const f = fixture;
    const orderId = randomUUID();
    const poison = jsonEvent({ id: randomUUID(), type: "eventmall.order.v1.OrderPlaced", data: { orderId, total: "not a number" } });
    await client.appendToStream(`order-${orderId}`, [poison]);
    const [cancelled] = await appendDomainEvents(client, `order-${orderId}`, [{ schema: order.OrderCancelledSchema, init: { orderId } }]);
    publisher(f.env(connectionString, { PUBLISHER_MAX_RETRIES: "2" }));
    await eventually(async () => (await publishedIds(f)).includes(cancelled!), 20_000, "the event after the poison one");
    const broker = await openBroker({ url: NATS_URL, stream: f.stream, subjectPrefix: f.subjectPrefix, maxAgeMs: 0, duplicateWindowMs: 120_000, retention: "limits" }, "test parked", { ensureStream: false });
    cleanups.push(() => broker.close());
    const parked = await listParked(broker.state);
    expect(parked.map((p) => [p.eventId, p.streamId, p.revision])).toEqual([[poison.id, `order-${orderId}`, "0"]]);
    expect(parked[0]!.error).toMatch(/total/);
    expect((await readPublisherStatus(client, broker, integrationMappings)).parked).toBe(1);
    expect(await replayParked(client, broker, f.stream, f.subjectPrefix, integrationMappings)).toMatchObject({ published: 0, failed: [{ eventId: poison.id }] });
    expect(await listParked(broker.state)).toHaveLength(1);
    expect((await publishedIds(f)).includes(poison.id)).toBe(false);
  });

  it("refuses bad configuration with one clear error instead of a crash loop", async () => {
    fixture = await jetStreamFixture();
    const f = fixture;
    const malformed = publisher(f.env(connectionString, { NATS_URL: "nats://bad host:port" }));
    expect(await malformed.exited).toBe(78);
    expect(fatal(malformed)).toMatch(/^publisher configuration error: NATS_URL "nats:\/\/bad host:port" is not a URL/);

    // Another stream already captures these subjects: JetStream refuses overlapping subjects.
    await f.jsm.streams.add({ name: `${f.stream}_OTHER`, subjects: [`${f.subjectPrefix}.>`] });
    cleanups.push(() => f.jsm.streams.delete(`${f.stream}_OTHER`).then(() => undefined));
    const colliding = publisher(f.env(connectionString));
    expect(await colliding.exited).toBe(78);
    expect(fatal(colliding)).toMatch(/publisher configuration error: JetStream refused stream TEST_\w+ on subjects test_\w+\.>/);
  });
});

/** The message of the process's fatal log record. */
function fatal(p: ServiceProcess): string {
  return String(p.records().find((r) => r.level === 60)?.msg ?? p.lines.join("\n"));
}

/** A TCP relay to `target` that the test can cut (closing every connection and refusing new ones) and restore. */
async function tcpProxy(target: number): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((socket) => {
    if (!open) return socket.destroy();
    const upstream = net.connect(target, "127.0.0.1");
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    socket.on("close", () => upstream.destroy());
    upstream.on("close", () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise<void>((resolve) => (server.close(() => resolve()), [...sockets].forEach((s) => s.destroy()))),
  };
}
