// Waiting for something another process does (a projector catching up, a saga deciding): ask, and
// ask again after firstMs, then twice as long each time up to maxMs, until the answer is yes, the
// deadline passes (the last wait is cut to it) or the caller goes away.

export interface PollOptions {
  /** Date.now() value after which no more asking. */
  deadline: number;
  firstMs: number;
  maxMs: number;
  signal?: AbortSignal;
}

/** True as soon as `done` answers true; false when the deadline passed or `signal` aborted first. */
export async function pollUntil(done: () => Promise<boolean>, options: PollOptions): Promise<boolean> {
  let waitMs = options.firstMs;
  for (;;) {
    if (await done()) return true;
    const left = options.deadline - Date.now();
    if (left <= 0 || options.signal?.aborted) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, left)));
    waitMs = Math.min(options.maxMs, waitMs * 2);
  }
}
