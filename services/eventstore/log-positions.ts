// $all positions as EventStoreDB assigns them: the byte offset of an event's record in the
// transaction log, so positions grow by each record's size and the first event never sits at 0
// (a fresh node's log starts with its epoch record). Readers only rely on positions being strictly
// increasing; clients and tools that expect EventStoreDB-like values get them.
import type { StoredEvent } from "./log";

/**
 * EventStoreDB's prepare record around its variable parts: length prefix and suffix (4 + 4), record
 * type and version (1 + 1), log position (8), flags (2), transaction position and offset (8 + 4),
 * expected version (8), event and correlation ids (16 + 16), timestamp (8), data and metadata
 * lengths (4 + 4).
 */
const PREPARE_RECORD_FIXED_BYTES = 88n;

/** The epoch system record at position 0 of a fresh log (framing, header and its JSON body). */
export const FIRST_EVENT_POSITION = 240n;

/** .NET BinaryWriter string: 7-bit encoded byte length, then the UTF-8 bytes. */
function dotnetStringBytes(text: string): bigint {
  const length = Buffer.byteLength(text, "utf8");
  let prefix = 1;
  for (let rest = length >>> 7; rest > 0; rest >>>= 7) prefix++;
  return BigInt(prefix + length);
}

/** Where the record after `event` starts. */
export function positionAfter(event: Pick<StoredEvent, "position" | "streamId" | "type" | "data" | "metadata">): bigint {
  return (
    event.position +
    PREPARE_RECORD_FIXED_BYTES +
    dotnetStringBytes(event.streamId) +
    dotnetStringBytes(event.type) +
    BigInt(event.data.length + event.metadata.length)
  );
}
