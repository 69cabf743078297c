// The publisher against a real store process and the real nats-server: a shop scenario's events
// each appear exactly once, per aggregate in revision order, on the right subject with the right
// headers, decodable with the integration contract and free of personal data.
import { randomUUID } from "node:crypto";
import { EventStoreDBClient } from "@eventstore/db-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as member from "../../gen/eventmall/member/v1/events_pb";
import * as order from "../../gen/eventmall/order/v1/events_pb";
import * as product from "../../gen/eventmall/product/v1/events_pb";
import { startService, type ServiceProcess } from "../support/processes";
import { appendDomainEvents, eventually, jetStreamFixture, orderAndUniqueness, type JetStreamFixture } from "./fixtures";

let eventstore: ServiceProcess;
let connectionString: string;
let client: EventStoreDBClient;
let fixture: JetStreamFixture | undefined;
let publisher: ServiceProcess | undefined;

beforeAll(async () => {
  eventstore = startService("eventstore", {}, ["--port", "0", "--in-memory"]);
  [, connectionString] = (await eventstore.waitFor(/eventstore listening on (esdb:\/\/\S+)/)) as unknown as [string, string];
  client = EventStoreDBClient.connectionString(connectionString);
});

afterEach(async () => {
  await publisher?.stop(5_000);
  publisher = undefined;
  await fixture?.dispose();
  fixture = undefined;
});

afterAll(async () => {
  await client?.dispose();
  await eventstore?.stop(5_000);
});

const personal = { name: "Zelda Personalname", email: "zelda.private@example.com", address: "42 Secret Lane, Busan", phone: "010-9876-5432", loginId: "zelda_private" };

describe("publisher scenario", () => {
  it("publishes every relevant event exactly once, in order, with subjects, headers and the contract, and no personal data", async () => {
    fixture = await jetStreamFixture();
    const memberId = randomUUID();
    const productId = randomUUID();
    const orderId = randomUUID();
    const ids: string[] = [];
    ids.push(
      ...(await appendDomainEvents(client, `member-${memberId}`, [
        { schema: member.MemberRegisteredSchema, init: { memberId, loginId: personal.loginId, name: personal.name, email: personal.email, address: personal.address } },
        { schema: member.MemberProfileChangedSchema, init: { memberId, name: personal.name, email: personal.email, address: personal.address } },
      ])),
    );
    ids.push(
      ...(await appendDomainEvents(client, `product-${productId}`, [
        { schema: product.ProductCreatedSchema, init: { productId, name: "Keyboard", price: 45000n, inventory: 10n, description: "tenkeyless" } },
        { schema: product.ProductPriceChangedSchema, init: { productId, price: 42000n } },
        { schema: product.InventoryIncreasedSchema, init: { productId, quantity: 5n } },
      ])),
    );
    const line = { line: 1, productId, productName: "Keyboard", unitPrice: 42000n, quantity: 2n, lineTotal: 84000n };
    ids.push(
      ...(await appendDomainEvents(client, `order-${orderId}`, [
        { schema: order.OrderPlacedSchema, init: { orderId, memberId, lines: [line], total: 84000n, delivery: { address: personal.address, phone: personal.phone, message: "ring twice" } } },
      ])),
    );
    ids.push(...(await appendDomainEvents(client, `product-${productId}`, [{ schema: product.StockReservedSchema, init: { productId, orderId, line: 1, quantity: 2n } }])));
    publisher = startService("publisher", fixture.env(connectionString));
    ids.push(...(await appendDomainEvents(client, `order-${orderId}`, [{ schema: order.OrderConfirmedSchema, init: { orderId } }, { schema: order.OrderCancelledSchema, init: { orderId } }])));
    ids.push(...(await appendDomainEvents(client, `product-${productId}`, [{ schema: product.StockReleasedSchema, init: { productId, orderId, line: 1, quantity: 2n } }])));
    ids.push(...(await appendDomainEvents(client, `member-${memberId}`, [{ schema: member.MemberWithdrawnSchema, init: { memberId, withdrawnBy: memberId } }])));

    const skippedId = ids[1]!; // MemberProfileChanged: skipped by the member context's rule
    const expected = ids.filter((id) => id !== skippedId);
    const f = fixture;
    await eventually(async () => (await f.count()) >= expected.length, 20_000, `${expected.length} messages`);
    await new Promise((resolve) => setTimeout(resolve, 500)); // anything extra would arrive now
    const messages = await f.messages();

    expect(messages.map((m) => m.msgId).sort()).toEqual([...expected].sort());
    expect(orderAndUniqueness(messages)).toEqual({ duplicates: 0, outOfOrder: [] });
    // Stronger than per aggregate: the stream holds the events in $all order.
    const positions = messages.map((m) => BigInt(m.headers["Eventmall-Commit-Position"]!));
    expect(positions).toEqual([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    const p = f.subjectPrefix;
    expect(messages.map((m) => `${m.subject} ${m.sourceStream.split("-")[0]}`)).toEqual(
      expect.arrayContaining([
        `${p}.member.MemberRegistered member`,
        `${p}.member.MemberWithdrawn member`,
        `${p}.product.ProductCreated product`,
        `${p}.product.ProductPriceChanged product`,
        `${p}.product.ProductStockChanged product`,
        `${p}.order.OrderPlaced order`,
        `${p}.order.OrderConfirmed order`,
        `${p}.order.OrderCancelled order`,
      ]),
    );
    for (const m of messages) {
      expect(m.subject).toBe(`${p}.${m.sourceStream.split("-")[0]}.${m.type.split(".").at(-1)}`);
      expect(m.headers["Eventmall-Commit-Position"]).toMatch(/^\d+$/);
      expect(m.headers["Eventmall-Correlation-Id"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(m.headers["Eventmall-Causation-Id"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(m.headers["Content-Type"]).toBe("application/protobuf");
    }
    const confirmed = messages.find((m) => m.type === "eventmall.integration.v1.OrderConfirmed")!;
    expect(confirmed.decoded).toMatchObject({ orderId, memberId, total: 84000n, lines: [expect.objectContaining({ productId, quantity: 2n, lineTotal: 84000n })] });
    const stock = messages.filter((m) => m.type === "eventmall.integration.v1.ProductStockChanged").map((m) => m.decoded.delta);
    expect(stock).toEqual([5n, -2n, 2n]);
    expect(messages.find((m) => m.type === "eventmall.integration.v1.MemberRegistered")!.decoded).toMatchObject({ memberId });

    const everything = messages.map((m) => `${JSON.stringify(m.headers)} ${Buffer.from(m.body).toString("latin1")}`).join("\n");
    for (const secret of Object.values(personal)) expect(everything).not.toContain(secret);
  });
});
