// What bench/clients.ts asks each client child (client-child.ts) to do, and what it reports.
export const CLIENT_PACKAGES = ["@eventstore/db-client", "@kurrent/kurrentdb-client"] as const;
export type ClientPackage = (typeof CLIENT_PACKAGES)[number];

export interface ClientWork {
  connectionString: string;
  storePid: number;
  appends: number;
  appendsWarmup: number;
  inFlight: number[];
  readStream: string;
  readStreamEvents: number;
  readRepeats: number;
  allEvents: number;
  persistentStream: string;
  persistentEvents: number;
}

export interface Timing {
  wallMs: number;
  clientCpuMs: number;
  storeCpuMs: number;
}

export interface AppendTiming extends Timing {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export interface ClientResult {
  appends: Record<string, AppendTiming>;
  /** Median of readRepeats reads (after one warm-up read). */
  readStream: Timing;
  catchUpAll: Timing;
  persistent: Timing;
}
