// Stream metadata as EventStoreDB stores it: the last JSON event of the "$$<stream>" stream.
// Only the reserved keys that change what a read returns are interpreted here.

/** EventStoreDB's "deleted stream" event number (long.MaxValue): $tb set to it means soft-deleted. */
export const DELETED_STREAM_REVISION = 9223372036854775807n;

export const METADATA_EVENT_TYPE = "$metadata";
export const TOMBSTONE_EVENT_TYPE = "$streamDeleted";
export const LINK_EVENT_TYPE = "$>";

export interface StreamMetadata {
  /** The metadata object as written (user keys included), to carry over when the server rewrites it. */
  raw: Record<string, unknown>;
  maxCount?: bigint;
  /** Seconds. */
  maxAge?: bigint;
  truncateBefore?: bigint;
}

export function isMetastream(streamId: string): boolean {
  return streamId.startsWith("$$");
}

export function metastreamOf(streamId: string): string {
  return `$$${streamId}`;
}

/** The stream a metastream describes ("$$orders-1" -> "orders-1"). */
export function streamOfMetastream(metastreamId: string): string {
  return metastreamId.slice(2);
}

function nonNegativeInteger(value: unknown): bigint | undefined {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === "bigint" && value >= 0n) return value;
  return undefined;
}

/**
 * Parses metadata bytes; anything that is not a JSON object means "no metadata", as for EventStoreDB,
 * which ignores unparsable metadata rather than failing reads. `$tb` may exceed 2^53 (soft delete writes
 * long.MaxValue), so it is read from the text exactly rather than through a JS number.
 */
export function parseStreamMetadata(bytes: Uint8Array): StreamMetadata | undefined {
  const text = Buffer.from(bytes).toString("utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return undefined;
  const record = raw as Record<string, unknown>;
  const exactTb = /"\$tb"\s*:\s*(\d+)/.exec(text);
  return {
    raw: record,
    maxCount: nonNegativeInteger(record.$maxCount),
    maxAge: nonNegativeInteger(record.$maxAge),
    truncateBefore: exactTb ? BigInt(exactTb[1]!) : nonNegativeInteger(record.$tb),
  };
}

/** Serialises metadata with `$tb` replaced, keeping its exact (possibly > 2^53) value. */
export function serializeWithTruncateBefore(raw: Record<string, unknown>, truncateBefore: bigint): Uint8Array {
  const { $tb: _ignored, ...rest } = raw;
  const body = JSON.stringify(rest);
  const tb = `"$tb":${truncateBefore.toString()}`;
  const json = body === "{}" ? `{${tb}}` : `${body.slice(0, -1)},${tb}}`;
  return Buffer.from(json, "utf8");
}

export function isSoftDeleted(metadata: StreamMetadata | undefined): boolean {
  return metadata?.truncateBefore === DELETED_STREAM_REVISION;
}
