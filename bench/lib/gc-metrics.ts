// Garbage collection of a service process, read from its Prometheus endpoint (prom-client's
// default nodejs_gc_duration_seconds histogram): how many pauses of each kind and how long.
import { createServer, type AddressInfo } from "node:net";

export interface GcPauses {
  minor: { count: number; ms: number; atLeast10ms: number };
  major: { count: number; ms: number };
}

/** A port that was free a moment ago (for a child process's metrics endpoint). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function readGcPauses(metricsUrl: string): Promise<GcPauses> {
  const lines = (await (await fetch(metricsUrl)).text()).split("\n");
  const value = (series: string, kind: string, extra = "") => {
    const line = lines.find((l) => l.startsWith(`nodejs_gc_duration_seconds_${series}{`) && l.includes(`kind="${kind}"`) && l.includes(extra));
    return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
  };
  const minorCount = value("count", "minor");
  return {
    minor: { count: minorCount, ms: value("sum", "minor") * 1000, atLeast10ms: minorCount - value("bucket", "minor", 'le="0.01"') },
    major: { count: value("count", "major"), ms: value("sum", "major") * 1000 },
  };
}

/** Pauses between two readings. */
export function gcBetween(before: GcPauses, after: GcPauses): GcPauses {
  return {
    minor: {
      count: after.minor.count - before.minor.count,
      ms: after.minor.ms - before.minor.ms,
      atLeast10ms: after.minor.atLeast10ms - before.minor.atLeast10ms,
    },
    major: { count: after.major.count - before.major.count, ms: after.major.ms - before.major.ms },
  };
}
