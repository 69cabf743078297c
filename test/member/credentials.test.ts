// CredentialStore against real databases (SQLite and PostgreSQL): versions, conflicts, erasure.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openReadDb, type ReadDb } from "../../src/kernel/read/read-db";
import { CredentialConflict, CredentialStore, CredentialStoreFailure } from "../../src/member/credentials";
import { createMigratedReadDb, createTestDatabase, READ_DB_PROVIDERS, type TestReadDb } from "../support/read-db";
import { projections } from "../../services/projector/projections";

describe("member_credential is write-side state", () => {
  it("is declared by no projection, so rebuilds (which replace only declared tables) never touch it", () => {
    for (const projection of projections) expect(projection.tables ?? [], projection.name).not.toContain("member_credential");
  });
});

describe.each(READ_DB_PROVIDERS)("CredentialStore on %s", (provider) => {
  let database: TestReadDb;
  let db: ReadDb;
  let credentials: CredentialStore;

  beforeAll(async () => {
    database = await createMigratedReadDb(provider);
    db = await openReadDb(database.url);
    credentials = new CredentialStore(db, () => new Date());
  });

  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  it("stores a new member's hash at version 0 and changes it only from the version named", async () => {
    const memberId = crypto.randomUUID();
    expect(await credentials.current(memberId)).toBeUndefined();
    await credentials.set(memberId, "scrypt$first", undefined);
    expect(await credentials.current(memberId)).toEqual({ passwordHash: "scrypt$first", version: 0 });
    await credentials.set(memberId, "scrypt$second", 0);
    expect(await credentials.current(memberId)).toEqual({ passwordHash: "scrypt$second", version: 1 });
    await expect(credentials.set(memberId, "scrypt$stale", 0)).rejects.toBeInstanceOf(CredentialConflict);
    expect(await credentials.current(memberId)).toEqual({ passwordHash: "scrypt$second", version: 1 });
  });

  it("lets exactly one of concurrent changes from one version through", async () => {
    const memberId = crypto.randomUUID();
    await credentials.set(memberId, "scrypt$start", undefined);
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => credentials.set(memberId, `scrypt$new-${i}`, 0)));
    const won = outcomes.flatMap((outcome, i) => (outcome.status === "fulfilled" ? [`scrypt$new-${i}`] : []));
    expect(won).toHaveLength(1);
    for (const outcome of outcomes) if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(CredentialConflict);
    expect(await credentials.current(memberId)).toEqual({ passwordHash: won[0], version: 1 });
  });

  it("erases the row for good: nothing to read, a change after erasure conflicts", async () => {
    const memberId = crypto.randomUUID();
    await credentials.set(memberId, "scrypt$secret", undefined);
    await credentials.erase(memberId);
    expect(await credentials.current(memberId)).toBeUndefined();
    expect(await db.memberCredential.count({ where: { memberId } })).toBe(0);
    await expect(credentials.set(memberId, "scrypt$again", 0)).rejects.toBeInstanceOf(CredentialConflict);
    await credentials.erase(memberId); // erasing nothing is fine
  });

  it("overwrites the row a crashed registration of the same member id left behind", async () => {
    const memberId = crypto.randomUUID();
    await credentials.set(memberId, "scrypt$orphan", undefined);
    await credentials.set(memberId, "scrypt$registered", undefined);
    expect(await credentials.current(memberId)).toEqual({ passwordHash: "scrypt$registered", version: 0 });
  });

  it("reports database failures without the driver's text (which would quote the hash)", async () => {
    // Never migrated: it has no member_credential table.
    const broken = await createTestDatabase(provider);
    const brokenDb = await openReadDb(broken.url);
    try {
      const failure = await new CredentialStore(brokenDb, () => new Date()).set(crypto.randomUUID(), "scrypt$leaky-hash", undefined).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(CredentialStoreFailure);
      expect(String((failure as Error).message)).not.toContain("leaky");
      expect(JSON.stringify(failure)).not.toContain("leaky");
    } finally {
      await brokenDb.$disconnect();
      await broken.drop();
    }
  });
});
