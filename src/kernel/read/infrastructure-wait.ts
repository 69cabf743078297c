// Waiting out an infrastructure failure (read database unreachable, restarting, locked; the store
// for a reactor): the runner keeps what it holds and tries the same work again with capped
// backoff for as long as it takes, reporting "waiting" while it does. Nothing is nacked or counted.
import type { Logger } from "pino";
import { infrastructureReason, isInfrastructureError } from "../process/infrastructure-errors";
import { backoff } from "../process/backoff";
import { MAX_INFRASTRUCTURE_BACKOFF_MS, type ProjectionObserver } from "./projector-types";

/** Thrown out of a wait when the runner is asked to stop: the deliveries in hand stay unacknowledged. */
export class StopRequested extends Error {}

export class InfrastructureWait {
  /** Set while the infrastructure is down: when the runner first found it so. */
  waitingSince: Date | undefined;

  constructor(
    private readonly name: string,
    private readonly handlerIsReactor: boolean,
    private readonly log: Logger,
    private readonly observer: ProjectionObserver | undefined,
    private readonly retryBaseMs: number,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly isStopping: () => boolean,
  ) {}

  /**
   * Runs `work` until it succeeds or fails for a reason of its own (thrown). An infrastructure
   * failure is waited out: the same work is tried again, with capped backoff, for as long as it
   * takes; a stop request ends the wait (StopRequested) with nothing acknowledged.
   */
  async outlast<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await work();
        if (this.waitingSince) this.noteRecovered();
        return result;
      } catch (error) {
        if (!isInfrastructureError(error)) throw error;
        if (this.isStopping()) throw new StopRequested("stopping while the infrastructure is down");
        this.noteWaiting(error);
        await this.sleep(backoff(this.retryBaseMs, attempt, MAX_INFRASTRUCTURE_BACKOFF_MS));
        if (this.isStopping()) throw new StopRequested("stopping while the infrastructure is down");
      }
    }
  }

  noteWaiting(error: unknown): void {
    const first = this.waitingSince === undefined;
    this.waitingSince ??= new Date();
    const what = this.handlerIsReactor ? "a dependency" : "read database";
    const detail = `${what} unreachable since ${this.waitingSince.toISOString()}: ${infrastructureReason(error)}`;
    if (first) this.log.warn({ err: error }, `${what} unreachable: waiting with the position kept (nothing is parked for it)`);
    this.observer?.state(this.name, "waiting", detail);
  }

  noteRecovered(): void {
    const since = this.waitingSince!;
    this.waitingSince = undefined;
    this.log.info({ waitedMs: Date.now() - since.getTime() }, "infrastructure reachable again; going on from the kept position");
    this.observer?.state(this.name, "live");
  }
}
