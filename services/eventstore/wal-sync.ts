// Durability for group commit without blocking the event loop: transactions commit with
// synchronous=NORMAL (written to the WAL, not yet fsynced), and their callers are acknowledged only
// after an fdatasync of the WAL file that started after their commit. The fsync runs on libuv's
// thread pool, so requests keep arriving (and the next batch keeps growing) while the disk works.
// That is exactly the guarantee of synchronous=FULL in WAL mode (an fsync of the WAL per commit),
// paid once per group of commits; checkpoints stay fsynced by SQLite itself under NORMAL.
// While an fsync runs, the log does not commit: it queues, and `onSynced` lets it commit everything
// queued in one transaction just before the next fsync (one transaction per fsync, not per tick).
import { closeSync, fdatasync, openSync } from "node:fs";

export class WalSync {
  private fd: number | undefined;
  private waiting: Array<(error?: Error) => void> = [];
  private syncing = false;
  private failure: Error | undefined;
  private idleWaiters: Array<() => void> = [];

  /** `onSynced` runs after each fsync's waiters were called: the place to commit what queued meanwhile. */
  constructor(
    private readonly walPath: string,
    private readonly onSynced: () => void = () => {},
  ) {}

  /** True while an fsync is running: commits made now would have to wait for the next one anyway. */
  get busy(): boolean {
    return this.syncing;
  }

  /** Calls `then` once everything committed before this call is on disk (or with the error that prevents it). */
  after(then: (error?: Error) => void): void {
    this.waiting.push(then);
    this.start();
  }

  /** Resolves when no sync is running or waiting. */
  idle(): Promise<void> {
    if (!this.syncing && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private start(): void {
    if (this.syncing) return;
    if (this.waiting.length === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      return;
    }
    const batch = this.waiting;
    this.waiting = [];
    if (!this.failure && this.fd === undefined) {
      try {
        this.fd = openSync(this.walPath, "r");
      } catch (error) {
        this.failure = error as Error;
      }
    }
    if (this.failure || this.fd === undefined) {
      // Once an fsync has failed, nothing written since can be promised durable: every later write fails.
      for (const then of batch) then(this.failure);
      this.start();
      return;
    }
    this.syncing = true;
    fdatasync(this.fd, (error) => {
      this.syncing = false;
      if (error) this.failure = error;
      for (const then of batch) then(error ?? undefined);
      this.onSynced();
      this.start();
    });
  }
}
