// Graceful stop of a service process on SIGINT/SIGTERM: runs the process's stop steps once, logs the
// outcome, and makes a failed stop visible in the exit code.
import type { Logger } from "pino";

export interface StopOnSignalsOptions {
  /** Exit as soon as the steps are done, even if something (e.g. a client library's timer) keeps the loop alive. */
  exitWhenDone?: boolean;
}

export function stopOnSignals(logger: Logger, stop: () => Promise<void>, options: StopOnSignalsOptions = {}): void {
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    try {
      await stop();
      logger.info("stopped");
    } catch (error) {
      logger.error({ err: error }, "error during shutdown");
      process.exitCode = 1;
    }
    if (options.exitWhenDone) process.exit();
  };
  process.on("SIGINT", (signal) => void shutdown(signal));
  process.on("SIGTERM", (signal) => void shutdown(signal));
  process.on("unhandledRejection", (error) => logger.error({ err: error }, "unhandled rejection"));
}
