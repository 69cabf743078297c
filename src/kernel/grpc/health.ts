// grpc.health.v1.Health: "" is the whole server, every other name one registered service.
import type { ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb";
import type { ProjectionObserver } from "../read/projector";
import { notFound } from "./errors";

export { ServingStatus };

export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly waiters = new Set<() => void>();
  private shutDown = false;

  constructor(serviceNames: string[], initial = ServingStatus.SERVING) {
    for (const name of ["", ...serviceNames]) this.statuses.set(name, initial);
  }

  /** Sets a service's status ("" = overall). Ignored after shutdown: a stopping server only goes down. */
  set(service: string, status: ServingStatus): void {
    if (this.shutDown) return;
    this.statuses.set(service, status);
    this.notify();
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Marks everything NOT_SERVING and ends every Watch stream after it has sent that status. */
  shutdown(): void {
    for (const name of this.statuses.keys()) this.statuses.set(name, ServingStatus.NOT_SERVING);
    this.shutDown = true;
    this.notify();
  }

  get isShutDown(): boolean {
    return this.shutDown;
  }

  private notify(): void {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiting) wake();
  }

  private nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        signal.removeEventListener("abort", wake);
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }

  implementation(): ServiceImpl<typeof Health> {
    const registry = this;
    return {
      check: (request) => {
        const status = this.statuses.get(request.service);
        if (status === undefined) throw notFound(`unknown service "${request.service}"`);
        return { status };
      },
      // Per the health protocol an unknown service is not an error for Watch: it reports
      // SERVICE_UNKNOWN and keeps the stream open in case the service gets registered.
      async *watch(request, context) {
        let sent: ServingStatus | undefined;
        for (;;) {
          const status = registry.statuses.get(request.service) ?? ServingStatus.SERVICE_UNKNOWN;
          if (status !== sent) {
            yield { status };
            sent = status;
          }
          if (registry.shutDown || context.signal.aborted) return;
          await registry.nextChange(context.signal);
        }
      },
    };
  }
}

/** The health service name of one projection or reactor: NOT_SERVING while it waits or has failed. */
export const projectionHealthName = (name: string) => `eventmall.projection.${name}`;

/**
 * Keeps one health entry per projection up to date. The process itself ("") stays SERVING: a
 * projection waiting for its database is not fixed by restarting the process.
 */
export function projectionHealthObserver(health: Pick<HealthRegistry, "set">, names: string[]): ProjectionObserver {
  for (const name of names) health.set(projectionHealthName(name), ServingStatus.SERVING);
  return {
    state(projection, state) {
      health.set(projectionHealthName(projection), state === "waiting" || state === "failed" ? ServingStatus.NOT_SERVING : ServingStatus.SERVING);
    },
    applied() {},
    retried() {},
    parked() {},
  };
}
