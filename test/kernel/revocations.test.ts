// RevokedSubjects: revocations learnt from the event log through the official client and the
// embedded store. A process started after a revocation knows it before start() resolves (restarts,
// new replicas); a running one learns new ones live; other event types revoke nothing.
import { randomUUID } from "node:crypto";
import { EventStoreDBClient, jsonEvent } from "@eventstore/db-client";
import { startEventStore } from "../../services/eventstore/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refusingRevoked } from "../../src/kernel/auth/auth";
import { RevokedSubjects, type RevocationFeed } from "../../src/kernel/auth/revocations";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { testTokenService } from "./auth-fixtures";

const feed: RevocationFeed = {
  eventTypes: ["test.AccountClosed"],
  subjectOf: ({ streamId }) => (streamId.startsWith("account-") ? streamId.slice("account-".length) : undefined),
};
const quiet = { info: () => undefined, warn: () => undefined };

let store: StoreUnderTest;
const opened: RevokedSubjects[] = [];
async function started(): Promise<RevokedSubjects> {
  const revoked = new RevokedSubjects(store.client, feed, quiet);
  opened.push(revoked);
  await revoked.start();
  return revoked;
}
const close = (id: string) => store.client.appendToStream(`account-${id}`, jsonEvent({ type: "test.AccountClosed", data: {} }));

beforeAll(async () => {
  store = await openStore();
});
afterAll(async () => {
  await Promise.all(opened.map((revoked) => revoked.close()));
  await store?.close();
});

async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("RevokedSubjects", () => {
  it("knows every revocation already in the log once started, and nothing else", async () => {
    const closed = randomUUID();
    const open = randomUUID();
    await close(closed);
    await store.client.appendToStream(`account-${open}`, jsonEvent({ type: "test.AccountOpened", data: {} }));
    await store.client.appendToStream(`other-${randomUUID()}`, jsonEvent({ type: "test.AccountClosedLater", data: {} }));
    const revoked = await started();
    expect(revoked.has(closed)).toBe(true);
    expect(revoked.has(open)).toBe(false);
    expect(revoked.size).toBeGreaterThanOrEqual(1);
  });

  it("learns revocations appended while it runs, and a restarted one still knows them", async () => {
    const revoked = await started();
    const later = randomUUID();
    expect(revoked.has(later)).toBe(false);
    await close(later);
    await eventually(() => revoked.has(later));
    await revoked.close();
    expect((await started()).has(later)).toBe(true);
  });

  it("makes the token service refuse a revoked subject's valid token as UNAUTHENTICATED", async () => {
    const revoked = await started();
    const base = testTokenService();
    const tokens = refusingRevoked(base, revoked);
    const subject = randomUUID();
    const { token } = await base.issue({ subject, roles: ["member"] });
    expect(await tokens.verify(token)).toMatchObject({ subject });
    await close(subject);
    await eventually(() => revoked.has(subject));
    await expect(tokens.verify(token)).rejects.toMatchObject({ code: 16, rawMessage: "access token revoked" });
  });

  it("fails closed while the store does not answer (UNAVAILABLE for tokens), then loads when it does", async () => {
    const probe = await startEventStore({ port: 0, inMemory: true });
    const port = probe.port;
    await probe.stop();
    const client = EventStoreDBClient.connectionString(`esdb://127.0.0.1:${port}?tls=false`);
    const revoked = new RevokedSubjects(client, feed, quiet, { retryMs: 50 });
    opened.push(revoked);
    try {
      expect(await revoked.start()).toBe(false);
      expect(revoked.loaded).toBe(false);
      const base = testTokenService();
      const tokens = refusingRevoked(base, revoked);
      const { token } = await base.issue({ subject: randomUUID(), roles: ["member"] });
      await expect(tokens.verify(token)).rejects.toMatchObject({ code: 14 });

      const store = await startEventStore({ port, inMemory: true });
      try {
        await eventually(() => revoked.loaded);
        expect(await tokens.verify(token)).toMatchObject({ roles: ["member"] });
      } finally {
        await revoked.close();
        await store.stop();
      }
    } finally {
      await client.dispose();
    }
  });
});
