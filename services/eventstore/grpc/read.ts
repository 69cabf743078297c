// Streams.Read for finite reads of a stream or of $all, paged from the log and written with
// backpressure. Subscriptions (count = subscription) are handed to subscription.ts.
import type { EventLog, ReadEvent, ReadStart } from "../log";
import { streamIdentifier } from "./codec";
import { ResponseBatch } from "./framed-writes";
import { streamDeleted } from "./errors";
import { streamsPb } from "./proto";
import { parseReadRequest, type ReadRequest } from "./read-request";
import { fail, isGone, send, writable, type ReadCall } from "./read-call";
import { Subscription, type SubscriptionRegistry } from "./subscription";


const PAGE = 500;
/** Filtered $all reads examine at most this many events per synchronous step. */
const SCAN_STEP = 5000;

/** Writes a page of events in as few writes as possible, then waits for the client if needed. */
async function sendPage(call: ReadCall, batch: ResponseBatch, entries: ReadEvent[], structuredIds: boolean): Promise<boolean> {
  if (isGone(call)) return false;
  for (const entry of entries) batch.event(entry, structuredIds);
  if (!batch.flush()) await writable(call);
  return !isGone(call);
}

export function readHandler(log: EventLog, subscriptions: SubscriptionRegistry) {
  return (call: ReadCall) => {
    let request: ReadRequest;
    try {
      request = parseReadRequest(call.request);
    } catch (error) {
      return fail(call, error);
    }
    if (request.count === null) {
      new Subscription(call, log, request, subscriptions).start();
      return;
    }
    const work = request.target.kind === "stream" ? readStream(call, log, request) : readAll(call, log, request);
    work.then(
      () => {
        if (!isGone(call)) call.end();
      },
      (error) => fail(call, error),
    );
  };
}

async function readStream(call: ReadCall, log: EventLog, request: ReadRequest): Promise<void> {
  if (request.target.kind !== "stream") return;
  const { streamName, from } = request.target;
  let remaining = request.count!;
  let start: ReadStart = from.kind === "revision" ? from.revision : from.kind;
  let first = true;
  const batch = new ResponseBatch(call);
  while (remaining > 0n) {
    const pageSize = remaining < BigInt(PAGE) ? remaining : BigInt(PAGE);
    const page = log.readStream(streamName, {
      from: start,
      direction: request.direction,
      maxCount: pageSize,
      resolveLinks: request.resolveLinks,
    });
    if (page.kind === "deleted") throw streamDeleted(streamName);
    if (page.kind === "not_found") {
      if (first) {
        const notFound = new streamsPb.ReadResp.StreamNotFound().setStreamIdentifier(streamIdentifier(streamName));
        await send(call, new streamsPb.ReadResp().setStreamNotFound(notFound));
      }
      return;
    }
    first = false;
    if (!(await sendPage(call, batch, page.events, request.structuredIds))) return;
    remaining -= BigInt(page.events.length);
    if (BigInt(page.events.length) < pageSize) return;
    const last = page.events[page.events.length - 1]!;
    const revision = (last.link ?? last.event).revision;
    if (request.direction === "backwards" && revision === 0n) return;
    start = request.direction === "forwards" ? revision + 1n : revision - 1n;
  }
}

async function readAll(call: ReadCall, log: EventLog, request: ReadRequest): Promise<void> {
  if (request.target.kind !== "all") return;
  const from = request.target.from;
  let remaining = request.count!;
  let start: ReadStart = from.kind === "position" ? from.position : from.kind;
  const batch = new ResponseBatch(call);
  while (remaining > 0n) {
    const pageSize = remaining < BigInt(PAGE) ? Number(remaining) : PAGE;
    const page = log.readAll({
      from: start,
      direction: request.direction,
      maxCount: BigInt(pageSize),
      filter: request.filter,
      resolveLinks: request.resolveLinks,
      maxScan: SCAN_STEP,
    });
    if (!(await sendPage(call, batch, page.events, request.structuredIds))) return;
    remaining -= BigInt(page.events.length);
    const reachedEnd = page.events.length < pageSize && page.scanned < SCAN_STEP;
    if (reachedEnd || page.lastScanned === null) return;
    // Forwards includes its start position; backwards starts just before it.
    start = request.direction === "forwards" ? page.lastScanned + 1n : page.lastScanned;
    if (start < 0n) return;
  }
}
