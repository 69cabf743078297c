// Correlation and causation ids for the events one request writes: the correlation id
// follows a whole flow across services (x-correlation-id), the causation id names the
// request that caused these events.
import { randomUUID } from "node:crypto";
import type { EventMetadata } from "./event-codec";

export const CORRELATION_HEADER = "x-correlation-id";

// A caller-chosen id lands in every event's metadata: accept only short, printable tokens.
const ACCEPTABLE_CORRELATION_ID = /^[A-Za-z0-9._:\-]{1,128}$/;

export function requestMetadata(headers: Pick<Headers, "get">): EventMetadata {
  const given = headers.get(CORRELATION_HEADER)?.trim();
  const correlationId = given && ACCEPTABLE_CORRELATION_ID.test(given) ? given : randomUUID();
  return { correlationId, causationId: randomUUID() };
}
