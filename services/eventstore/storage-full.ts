// A full disk is an episode, not a crash: writes fail with RESOURCE_EXHAUSTED while it lasts, the
// operator hears about it once (not once per request), and writes succeed again by themselves when
// space returns. A failed group commit is rolled back whole, so nothing half-written stays behind.

/** SQLite's "database or disk is full", or the OS's ENOSPC / EDQUOT (quota). */
export function isStorageFull(error: unknown): boolean {
  if (!error || typeof error !== "object" || !("code" in error)) return false;
  const code = (error as { code: unknown }).code;
  return code === "SQLITE_FULL" || code === "ENOSPC" || code === "EDQUOT";
}

export const STORAGE_FULL_MESSAGE = "the event store is out of disk space: the write was not stored; retry once space is freed";

export interface StorageLogger {
  error(message: string): void;
  info(message: string): void;
}

/** One line per state change, on stderr, like the store's other diagnostics. */
export const stderrStorageLogger: StorageLogger = {
  error: (message) => process.stderr.write(`eventstore ERROR ${message}\n`),
  info: (message) => process.stderr.write(`eventstore ${message}\n`),
};

/** Tracks whether the store is in a disk-full episode and logs its start and its end, once each. */
export class StorageFullEpisodes {
  private full = false;
  private failedWrites = 0;

  constructor(
    private readonly where: string,
    private readonly logger: StorageLogger = stderrStorageLogger,
  ) {}

  get active(): boolean {
    return this.full;
  }

  /** A write failed: starts an episode when it is a full disk. */
  failed(error: unknown): void {
    if (!isStorageFull(error)) return;
    this.failedWrites += 1;
    if (this.full) return;
    this.full = true;
    const reason = error instanceof Error ? error.message : String(error);
    this.logger.error(
      `disk full: writes to ${this.where} fail (${reason}); appends answer RESOURCE_EXHAUSTED until space is freed, then recover by themselves`,
    );
  }

  /** A write committed: ends an episode. */
  succeeded(): void {
    if (!this.full) return;
    this.logger.info(`disk space available again: writes to ${this.where} succeed (${this.failedWrites} write groups failed while the disk was full)`);
    this.full = false;
    this.failedWrites = 0;
  }
}
