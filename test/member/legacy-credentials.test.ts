// Upgrade of installations whose password hashes are still in member_credential- streams.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonEvent, StreamDeletedError } from "@eventstore/db-client";
import { openReadDb, type ReadDb } from "../../src/kernel/read-db";
import { AggregateRepository } from "../../src/kernel/repository";
import { memberAggregate } from "../../src/member/decider";
import { moveLegacyCredentials } from "../../src/member/legacy-credentials";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { createMigratedReadDb, type TestReadDb } from "../support/read-db";

let store: StoreUnderTest;
let database: TestReadDb;
let db: ReadDb;

beforeAll(async () => {
  store = await openStore();
  database = await createMigratedReadDb("sqlite");
  db = await openReadDb(database.url);
});

afterAll(async () => {
  await store?.close();
  await db?.$disconnect();
  await database?.drop();
});

/** The event the member context wrote before hashes left the store. */
async function legacyHash(memberId: string, passwordHash: string) {
  const event = jsonEvent({ type: "eventmall.member.v1.PasswordCredentialSet", data: { memberId, passwordHash, setAt: new Date().toISOString() } });
  await store.client.appendToStream(`member_credential-${memberId}`, event);
}

describe("moveLegacyCredentials", () => {
  it("copies active members' current hashes into member_credential and tombstones every legacy stream; a rerun changes nothing", async () => {
    const members = new AggregateRepository(store.client, memberAggregate, { snapshotEvery: 0, maxConflictRetries: 5 });
    const [active, withdrawn, unknown] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    for (const [memberId, loginId] of [[active, "legacy_a"], [withdrawn, "legacy_w"]] as const) {
      const registration = { type: "RegisterMember" as const, memberId, loginId, name: "Old Member", email: `${loginId}@example.com`, address: "1 Old St", now: new Date() };
      await members.handle(memberId, registration, { metadata: { correlationId: "c", causationId: "c" } });
    }
    await members.handle(withdrawn, { type: "WithdrawMember", memberId: withdrawn, withdrawnBy: withdrawn, now: new Date() }, { metadata: { correlationId: "c", causationId: "c" } });
    await legacyHash(active, "scrypt$15$8$1$old$first");
    await legacyHash(active, "scrypt$15$8$1$old$current");
    await legacyHash(withdrawn, "scrypt$15$8$1$old$withdrawn");
    await legacyHash(unknown, "scrypt$15$8$1$old$unknown");

    expect(await moveLegacyCredentials(store.client, members, db)).toEqual({ streams: 3, copied: 1, skipped: 2 });
    expect(await db.memberCredential.findMany({ select: { memberId: true, passwordHash: true, version: true } })).toEqual([
      { memberId: active, passwordHash: "scrypt$15$8$1$old$current", version: 0 },
    ]);
    for (const memberId of [active, withdrawn, unknown]) {
      const read = await (async () => {
        for await (const _ of store.client.readStream(`member_credential-${memberId}`)) void _;
      })().catch((error: unknown) => error);
      expect(read, memberId).toBeInstanceOf(StreamDeletedError);
    }

    expect(await moveLegacyCredentials(store.client, members, db)).toEqual({ streams: 3, copied: 0, skipped: 3 });
    expect(await db.memberCredential.count()).toBe(1);
  });
});
