// Load generation for request/response calls. Open loop: requests are sent on a fixed schedule
// whatever the responses do, and each latency counts from the request's *scheduled* send time, so
// a stalled server (or a late generator) shows up in the percentiles instead of being hidden
// (coordinated omission). Like k6's constant-arrival-rate executor, at most `maxInFlight` calls
// are outstanding: a send due while the cap is reached is dropped and counted, which keeps an
// overloaded service's backlog (and the run's length) bounded. Closed loop: `concurrency` callers back to back, for saturation.
import { setTimeout as sleep } from "node:timers/promises";
import { LatencyRecorder, type LatencySummary } from "./histogram";

export interface LoadResult {
  offeredPerSecond?: number;
  sent: number;
  /** Open loop: sends skipped because maxInFlight calls were outstanding (the service fell behind). */
  dropped: number;
  completed: number;
  failed: number;
  /** Completed calls per second over the run (first send to last response). */
  throughputPerSecond: number;
  latency: LatencySummary;
  firstError?: string;
}

export async function openLoop(ratePerSecond: number, durationMs: number, call: () => Promise<unknown>, maxInFlight = 256): Promise<LoadResult> {
  const total = Math.max(1, Math.round((ratePerSecond * durationMs) / 1000));
  const intervalMs = 1000 / ratePerSecond;
  const recorder = new LatencyRecorder();
  const pending = new Set<Promise<void>>();
  let completed = 0;
  let failed = 0;
  let firstError: string | undefined;
  let lastDone = 0;
  const start = performance.now() + 5;
  let due = 0;
  let dropped = 0;
  while (due < total) {
    const now = performance.now();
    while (due < total && start + due * intervalMs <= now) {
      const scheduled = start + due * intervalMs;
      due++;
      if (pending.size >= maxInFlight) {
        dropped++;
        continue;
      }
      const request: Promise<void> = call().then(
        () => {
          lastDone = performance.now();
          recorder.recordMs(lastDone - scheduled);
          completed++;
        },
        (error: unknown) => {
          failed++;
          firstError ??= String(error);
        },
      );
      pending.add(request);
      void request.finally(() => pending.delete(request));
    }
    await sleep(1);
  }
  await Promise.all(pending);
  const elapsedSeconds = Math.max(lastDone - start, durationMs) / 1000;
  return { offeredPerSecond: ratePerSecond, sent: due - dropped, dropped, completed, failed, throughputPerSecond: completed / elapsedSeconds, latency: recorder.summary(), firstError };
}

/** `concurrency` callers back to back until `durationMs` has passed or `limit` calls were sent. */
export async function closedLoop(concurrency: number, durationMs: number, call: () => Promise<unknown>, limit = Infinity): Promise<LoadResult> {
  const recorder = new LatencyRecorder();
  let completed = 0;
  let failed = 0;
  let sent = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && sent < limit) {
        const begun = performance.now();
        sent++;
        try {
          await call();
          recorder.recordMs(performance.now() - begun);
          completed++;
        } catch (error) {
          failed++;
          firstError ??= String(error);
        }
      }
    }),
  );
  const elapsedSeconds = (performance.now() - start) / 1000;
  return { sent, dropped: 0, completed, failed, throughputPerSecond: completed / elapsedSeconds, latency: recorder.summary(), firstError };
}
