// Worker thread of all-reader.ts: reads $all with its own official client in ONE forward read
// to the end, and posts pages of the events matching the projection's filter. Decoding gRPC
// frames and event JSON is most of a build's CPU; here it runs beside the thread that applies.
// Plain JavaScript so that it loads in any runtime (tsx, vitest, compiled).
import http2 from "node:http2";
import { parentPort, workerData } from "node:worker_threads";
import { EventStoreDBClient, FORWARDS, START } from "@eventstore/db-client";

/** @type {{ connectionString: string, from: { commit: bigint, prepare: bigint } | null, filter: { streamPrefixes?: string[], eventTypePrefixes?: string[] }, pageSize: number, ahead: number }} */
const { connectionString, from, filter, pageSize, ahead } = workerData;
const port = parentPort;
let credit = ahead;
let wake;
port.on("message", (message) => {
  if (message === "credit") {
    credit++;
    wake?.();
  }
});

// Same rule as matchesFilter() in catch-up.ts (all-reader.test.ts checks both agree).
function matches(streamId, type) {
  if (streamId.startsWith("$")) return false;
  return filter.streamPrefixes ? filter.streamPrefixes.some((p) => streamId.startsWith(p)) : filter.eventTypePrefixes.some((p) => type.startsWith(p));
}

/** An event as a JSON array; all-reader.ts decodeEvent() reverses it. Bytes travel as base64. */
function encode({ id, streamId, revision, type, data, metadata, created, position }) {
  return [id, streamId, String(revision), type, ...payload(data), ...payload(metadata), created.getTime(), String(position.commit), String(position.prepare)];
}

/** [kind, value]: 0 JSON value, 1 bytes as base64, 2 undefined (JSON has no undefined). */
function payload(value) {
  if (value === undefined) return [2, null];
  return value instanceof Uint8Array ? [1, Buffer.from(value).toString("base64")] : [0, value];
}

// A bigger HTTP/2 receive window for this thread's client: one long read is otherwise bound by
// round trips of 64 KiB windows (about 1.5x faster measured). The official client passes grpc-js
// no channel options, and grpc-js then takes the window from http2.getDefaultSettings(); a worker
// has its own instance of node:http2, so this changes nothing outside this thread.
const defaults = http2.getDefaultSettings;
http2.getDefaultSettings = () => ({ ...defaults(), initialWindowSize: 4 * 1024 * 1024 });

const client = EventStoreDBClient.connectionString(connectionString);
try {
  let events = [];
  let scanned = 0;
  let last;
  const flush = async () => {
    while (credit <= 0) await new Promise((resolve) => (wake = resolve));
    credit--;
    // One JSON string per page: copying a string to the other thread and JSON.parse there cost a
    // fraction of structured-cloning thousands of small objects.
    port.postMessage({ kind: "page", json: JSON.stringify(events), scanned, last: last && [String(last.commit), String(last.prepare)] });
    events = [];
    scanned = 0;
  };
  const read = client.readAll({ fromPosition: from ?? START, direction: FORWARDS, resolveLinkTos: false }, { highWaterMark: pageSize });
  for await (const resolved of read) {
    const recorded = resolved.event;
    if (!recorded?.position || (from && recorded.position.commit <= from.commit)) continue;
    scanned++;
    last = recorded.position;
    if (matches(recorded.streamId, recorded.type)) events.push(encode(recorded));
    if (scanned >= pageSize) await flush();
  }
  if (scanned > 0) await flush();
  port.postMessage({ kind: "end" });
} catch (error) {
  port.postMessage({ kind: "error", message: error instanceof Error ? error.message : String(error) });
} finally {
  await client.dispose();
}
