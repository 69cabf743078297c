// EventStoreDB's idempotent appends over the SQLite log: a retry is recognised by its event ids.
import type { AppendOutcome, ExpectedRevision, ProposedEvent } from "./log";
import type { EventTable, StreamState } from "./sqlite-store";

/**
 * EventStoreDB's idempotency: a retried append whose event ids are already at the revisions the
 * expectation points to succeeds without writing. For "any" only the stream's tail is compared.
 */
export function idempotentOutcome(
  table: EventTable,
  streamId: string,
  expected: ExpectedRevision,
  events: ProposedEvent[],
  state: StreamState,
): AppendOutcome | undefined {
  if (events.length === 0 || state.lastRevision === null) return undefined;
  let first: bigint;
  if (expected.kind === "exact") first = expected.revision + 1n;
  else if (expected.kind === "no_stream") first = 0n;
  else if (expected.kind === "any") first = state.lastRevision - BigInt(events.length) + 1n;
  else return undefined;
  if (first < 0n || first + BigInt(events.length) - 1n > state.lastRevision) return undefined;
  const known = state.lastAppendIds;
  if (expected.kind === "any" && known && (known.length !== events.length || known.some((id, i) => id !== events[i]!.id))) {
    return undefined;
  }
  const ids = table.idsFrom(streamId, first, events.length);
  if (ids.length !== events.length || ids.some((id, i) => id !== events[i]!.id)) return undefined;
  const last = first + BigInt(events.length) - 1n;
  return { ok: true, revision: last, position: table.eventAt(streamId, last)!.position };
}
