// The checkpoint rule as a property: whatever order messages finish in, the checkpoint never
// passes an unfinished message, and reaches the last one once all are done.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProgressTracker } from "../../services/eventstore/persistent/progress";

describe("persistent subscription progress", () => {
  it("never checkpoints past an unfinished message", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.bigInt({ min: 0n, max: 10_000n }), { minLength: 1, maxLength: 60 }),
        fc.func(fc.integer()),
        (raw, order) => {
          const seqs = [...raw].sort((a, b) => (a < b ? -1 : 1));
          const tracker = new ProgressTracker(undefined);
          for (const seq of seqs) tracker.read(seq);
          const finishing = [...seqs].sort((a, b) => order(Number(a)) - order(Number(b)) || (a < b ? -1 : 1));
          const unfinished = new Set(seqs);
          for (const seq of finishing) {
            tracker.finished(seq);
            unfinished.delete(seq);
            const checkpoint = tracker.checkpointable(seqs[seqs.length - 1]!);
            const oldestUnfinished = [...unfinished].reduce<bigint | undefined>((min, s) => (min === undefined || s < min ? s : min), undefined);
            if (oldestUnfinished !== undefined && checkpoint !== undefined) expect(checkpoint < oldestUnfinished).toBe(true);
          }
          expect(tracker.checkpointable(seqs[seqs.length - 1]!)).toBe(seqs[seqs.length - 1]);
        },
      ),
    );
  });

  it("resumes from a checkpoint and counts scanned-over positions as done when nothing is pending", () => {
    const tracker = new ProgressTracker(9n);
    expect(tracker.checkpointable(9n)).toBe(9n);
    tracker.read(12n);
    expect(tracker.checkpointable(20n)).toBe(9n);
    tracker.finished(12n);
    expect(tracker.checkpointable(20n)).toBe(20n);
  });
});
