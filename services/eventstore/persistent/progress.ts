// Which part of a group's source is fully done: messages are read in sequence order and finish
// in any order; the checkpoint may only move to just before the oldest unfinished one.
export class ProgressTracker {
  private pending: bigint[] = [];
  private head = 0;
  private readonly finishedAhead = new Set<bigint>();
  private lastContiguous: bigint | undefined;

  constructor(resumedAfter: bigint | undefined) {
    this.lastContiguous = resumedAfter;
  }

  /** A message entered the group (sequences arrive in increasing order). */
  read(seq: bigint): void {
    this.pending.push(seq);
  }

  finished(seq: bigint): void {
    this.finishedAhead.add(seq);
    while (this.head < this.pending.length && this.finishedAhead.has(this.pending[this.head]!)) {
      const next = this.pending[this.head]!;
      this.finishedAhead.delete(next);
      this.lastContiguous = next;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Highest sequence such that it and everything before it is done. With nothing pending,
   * everything read or scanned (`scannedUpTo`, e.g. events a filter passed over) is done.
   */
  checkpointable(scannedUpTo: bigint): bigint | undefined {
    if (this.head < this.pending.length) return this.lastContiguous;
    if (this.lastContiguous === undefined) return scannedUpTo >= 0n ? scannedUpTo : undefined;
    return scannedUpTo > this.lastContiguous ? scannedUpTo : this.lastContiguous;
  }
}
