// Password hashes: write-side state of the member command service in the member_credential
// table, never in an event (events cannot be erased). One row per member: its current hash and a
// version for optimistic concurrency. Withdrawal deletes the row: real erasure. The table is
// not a projection: no projection declares it, so rebuilds never touch it, and no query reads it.
import type { ReadDb } from "../kernel/read/read-db";

export interface StoredCredential {
  passwordHash: string;
  /** Bumped by every change; a change names the version it verified the old password against. */
  version: number;
}

/** The credential changed (or was erased) since the version the caller verified against. */
export class CredentialConflict extends Error {
  override readonly name = "CredentialConflict";
  constructor(
    readonly memberId: string,
    readonly expectedVersion: number,
  ) {
    super(`the credential of member ${memberId} is no longer at version ${expectedVersion}`);
  }
}

/**
 * A database failure of the credential store, stripped of the driver's message: Prisma's error
 * texts quote the call's arguments and source, which would put hashes into the logs.
 */
export class CredentialStoreFailure extends Error {
  override readonly name = "CredentialStoreFailure";
  constructor(operation: string, readonly code: string) {
    super(`member credential store: ${operation} failed (${code})`);
  }
}

async function scrubbed<T>(operation: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : "unknown";
    throw new CredentialStoreFailure(operation, code);
  }
}

export class CredentialStore {
  constructor(
    private readonly db: ReadDb,
    private readonly clock: () => Date,
  ) {}

  async current(memberId: string): Promise<StoredCredential | undefined> {
    const row = await scrubbed("read", () => this.db.memberCredential.findUnique({ where: { memberId }, select: { passwordHash: true, version: true } }));
    return row ?? undefined;
  }

  /**
   * Stores a new hash. `after` is the version the caller verified the old password against: a
   * concurrent change (or erasure) fails with CredentialConflict. `after` undefined = a new
   * member: writes version 0, overwriting a row a crashed registration of the same member id
   * may have left (member ids are fresh UUIDs, so no live member's row is ever overwritten).
   */
  async set(memberId: string, passwordHash: string, after: number | undefined): Promise<void> {
    const updatedAt = this.clock();
    if (after === undefined) {
      const fresh = { passwordHash, version: 0, updatedAt };
      await scrubbed("create", () => this.db.memberCredential.upsert({ where: { memberId }, create: { memberId, ...fresh }, update: fresh }));
      return;
    }
    const { count } = await scrubbed("change", () =>
      this.db.memberCredential.updateMany({ where: { memberId, version: after }, data: { passwordHash, version: after + 1, updatedAt } }),
    );
    if (count === 0) throw new CredentialConflict(memberId, after);
  }

  /** Deletes the member's hash for good (no-op when there is none). */
  async erase(memberId: string): Promise<void> {
    await scrubbed("erase", () => this.db.memberCredential.deleteMany({ where: { memberId } }));
  }
}
