// Prometheus metrics: one registry per process with Node's default process metrics, served on
// /metrics when the process has a metrics port; projector processes add projection metrics.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { EventStoreDBClient } from "@eventstore/db-client";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { countLag, DEFAULT_LAG_COUNT_LIMIT } from "../read/projection-status";
import type { ProjectionObserver } from "../read/projector";
import { readCheckpoint, type Projection } from "../read/projector-checkpoint";
import type { ReadDb } from "../read/read-db";

export function createMetricsRegistry(processName: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface MetricsServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Serves GET /metrics in the Prometheus text format. */
export async function startMetricsServer(options: { registry: Registry; port: number; host?: string }): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    if (request.method !== "GET" || (request.url ?? "").split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found; metrics are at /metrics\n");
      return;
    }
    options.registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": options.registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { "content-type": "text/plain" }).end(`metrics collection failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${address.includes(":") ? `[${address}]` : address}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers keep connections alive; they would hold close() open.
        server.closeAllConnections();
      }),
  };
}

/** Starts a metrics server when `port` is set (non-zero); logs where it listens. */
export async function serveMetricsIfConfigured(processName: string, port: number, host?: string): Promise<{ registry: Registry; server?: MetricsServer }> {
  const registry = createMetricsRegistry(processName);
  if (port === 0) return { registry };
  return { registry, server: await startMetricsServer({ registry, port, host }) };
}

export interface ProjectionMetricsSources {
  registry: Registry;
  db: ReadDb;
  client: EventStoreDBClient;
  projections: Pick<Projection, "name" | "filter">[];
}

/** Projection counters (fed as an observer) and lag gauges (measured against $all at scrape time). */
export function projectionMetrics(sources: ProjectionMetricsSources): ProjectionObserver {
  const { registry, db, client, projections } = sources;
  const processed = new Counter({ name: "projection_events_processed_total", help: "Events a projection applied", labelNames: ["projection"], registers: [registry] });
  const retries = new Counter({ name: "projection_retries_total", help: "Events handed back for a retry after a failure", labelNames: ["projection"], registers: [registry] });
  const parked = new Counter({ name: "projection_parked_total", help: "Events parked after their last retry", labelNames: ["projection"], registers: [registry] });
  const waiting = new Gauge({
    name: "projection_waiting",
    help: "1 while the projection waits for its read database (or the store) to answer again, with its position kept",
    labelNames: ["projection"],
    registers: [registry],
  });
  const lags = new Map<string, { lagEvents: number; lagMs: number }>();
  const measure = async () => {
    // While the read database is down the checkpoints cannot be read: the last figures stay.
    const measured = new Map<string, { lagEvents: number; lagMs: number }>();
    try {
      for (const projection of projections) {
        const checkpoint = await readCheckpoint(db, projection.name);
        measured.set(projection.name, await countLag(client, projection, checkpoint ?? undefined, DEFAULT_LAG_COUNT_LIMIT, new Date()));
      }
    } catch {
      return;
    }
    lags.clear();
    for (const [name, lag] of measured) lags.set(name, lag);
  };
  let measuring: Promise<void> | undefined;
  // Both gauges are collected in one scrape: measure once for the pair.
  const measureOnce = () => (measuring ??= measure().finally(() => setImmediate(() => (measuring = undefined))));
  new Gauge({
    name: "projection_lag_events",
    help: `Events in $all after the projection's checkpoint that it will handle (counted up to ${DEFAULT_LAG_COUNT_LIMIT})`,
    labelNames: ["projection"],
    registers: [registry],
    async collect() {
      await measureOnce();
      for (const [projection, lag] of lags) this.set({ projection }, lag.lagEvents);
    },
  });
  new Gauge({
    name: "projection_lag_milliseconds",
    help: "Age of the oldest event the projection has not applied yet (0 when caught up)",
    labelNames: ["projection"],
    registers: [registry],
    async collect() {
      await measureOnce();
      for (const [projection, lag] of lags) this.set({ projection }, lag.lagMs);
    },
  });
  for (const projection of projections) {
    for (const counter of [processed, retries, parked]) counter.inc({ projection: projection.name }, 0);
    waiting.set({ projection: projection.name }, 0);
  }
  return {
    state(projection, state) {
      waiting.set({ projection }, state === "waiting" ? 1 : 0);
    },
    applied(projection, count) {
      if (count > 0) processed.inc({ projection }, count);
    },
    retried: (projection) => retries.inc({ projection }),
    parked: (projection) => parked.inc({ projection }),
  };
}

/** One observer that tells each of `observers`. */
export function observeAll(...observers: ProjectionObserver[]): ProjectionObserver {
  return {
    state: (...args) => observers.forEach((o) => o.state(...args)),
    applied: (...args) => observers.forEach((o) => o.applied(...args)),
    retried: (...args) => observers.forEach((o) => o.retried(...args)),
    parked: (...args) => observers.forEach((o) => o.parked(...args)),
  };
}
