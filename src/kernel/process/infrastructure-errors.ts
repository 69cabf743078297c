// Which failures are the infrastructure's (a database or store that is unreachable, restarting,
// locked or out of space) rather than the code's. An infrastructure failure says nothing about the
// event or request in hand: the right answer is to wait and try the same thing again (a consumer)
// or to tell the caller to retry (UNAVAILABLE), never to give up on the event (park it) or to
// report an internal error.

/** Prisma error codes that mean "the database could not do it now", not "this query is wrong". */
const PRISMA_CODES = new Set([
  "P1001", // can't reach database server
  "P1002", // database server reached but timed out
  "P1008", // operation timed out (SQLite: busy beyond the busy timeout)
  "P1011", // error opening a TLS connection
  "P1017", // server has closed the connection
  "P2024", // timed out fetching a connection from the pool
  "P2034", // transaction failed due to a write conflict or a deadlock
]);

/** Driver-adapter error kinds (Prisma's `meta.driverAdapterError.cause.kind`). */
const ADAPTER_KINDS = new Set([
  "DatabaseNotReachable",
  "DatabaseAccessDenied", // often a server still starting up; retrying costs nothing
  "SocketTimeout",
  "TooManyConnections",
  "TransactionWriteConflict",
  "ConnectionClosed",
  "TransactionAlreadyClosed",
]);

/** PostgreSQL SQLSTATE classes and codes that are about the server's state, not the statement. */
const POSTGRES_STATE = /^(08|53|57P0[1-4]|58|40001|40P01|55P03)/;

const SQLITE_CODES = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|PROTOCOL|NOMEM)/;

const NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOSPC", "EIO"]);

const MESSAGES = [
  /connection error and is not queryable/i,
  /connection terminated/i,
  /terminating connection due to administrator command/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /database is locked/i,
  /database or disk is full/i,
  /timed out fetching a new connection/i,
  /can't reach database server/i,
  /server closed the connection unexpectedly/i,
];

/** Event store client errors (by class name, so this module names no client). */
const STORE_ERROR_NAMES = new Set(["UnavailableError", "DeadlineExceededError", "NotLeaderError"]);

/** True when `error`, or anything it wraps, is an infrastructure failure (see the module comment). */
export function isInfrastructureError(error: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): boolean => {
    if (value === null || typeof value !== "object" || depth > 6 || seen.has(value)) return false;
    seen.add(value);
    const e = value as Record<string, unknown>;
    const code = typeof e.code === "string" ? e.code : undefined;
    if (code && (PRISMA_CODES.has(code) || NODE_CODES.has(code) || SQLITE_CODES.test(code))) return true;
    if (typeof e.name === "string" && STORE_ERROR_NAMES.has(e.name)) return true;
    if (typeof e.kind === "string") {
      if (ADAPTER_KINDS.has(e.kind)) return true;
      if (e.kind === "postgres" && typeof e.code === "string" && POSTGRES_STATE.test(e.code)) return true;
    }
    if (typeof e.originalCode === "string" && SQLITE_CODES.test(e.originalCode)) return true;
    if (typeof e.message === "string" && MESSAGES.some((pattern) => pattern.test(e.message as string))) return true;
    const meta = e.meta as Record<string, unknown> | undefined;
    const nested = [e.cause, meta?.driverAdapterError, ...(Array.isArray(e.errors) ? e.errors : [])];
    return nested.some((inner) => visit(inner, depth + 1));
  };
  return visit(error, 0);
}

/** One line for logs and status: what the infrastructure said, without a query's source excerpt. */
export function infrastructureReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  return (lines.at(-1) ?? message).slice(0, 300);
}
