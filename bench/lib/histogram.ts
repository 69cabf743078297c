// Latency recording for the benchmarks: an HDR histogram (hdr-histogram-js) in microseconds,
// so percentiles keep 3 significant digits from 1 µs to an hour.
import hdr from "hdr-histogram-js";

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export class LatencyRecorder {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

  recordMs(milliseconds: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(milliseconds * 1000)));
  }

  summary(): LatencySummary {
    const h = this.histogram;
    return {
      count: h.totalCount,
      p50Ms: h.getValueAtPercentile(50) / 1000,
      p99Ms: h.getValueAtPercentile(99) / 1000,
      maxMs: h.maxValue / 1000,
      meanMs: h.mean / 1000,
    };
  }
}

/** Times `runs` sequential calls of `work` (after `warmup` untimed ones). */
export async function timeRuns(runs: number, warmup: number, work: () => Promise<unknown>): Promise<LatencySummary> {
  for (let i = 0; i < warmup; i++) await work();
  const recorder = new LatencyRecorder();
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work();
    recorder.recordMs(performance.now() - started);
  }
  return recorder.summary();
}

export function ms(value: number): string {
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 1) return `${value.toFixed(2)} ms`;
  return `${(value * 1000).toFixed(0)} µs`;
}

export function ratio(value: number): string {
  return value >= 100 ? `${value.toFixed(0)}×` : `${value.toFixed(1)}×`;
}
