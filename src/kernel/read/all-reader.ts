// Reading $all forward for catch-up builds, page by page, with the events matching a projection's
// filter. Two ways, same pages:
//   - inline: paged reads through the caller's client, the next page read while one is applied;
//   - in a worker thread (given a connection string): one read to the end through a client of
//     its own, a few pages ahead, so decoding runs on another core than applying.
import { Worker } from "node:worker_threads";
import type { EventStoreDBClient, Position } from "@eventstore/db-client";
import { matchesFilter, readPage, toProjectedEvent } from "./all-events";
import type { ProjectedEvent, ProjectionFilter } from "./projector-checkpoint";

export interface AllPage {
  /** The page's events that match the filter, in $all order. */
  events: ProjectedEvent[];
  /** Events read (matching or not). */
  scanned: number;
  /** Position of the last event read. */
  last?: Position;
}

export interface AllReader {
  /** The next page; undefined at the end of $all. */
  next(): Promise<AllPage | undefined>;
  /** Stops reading (before the end: abandons the read). */
  close(): Promise<void>;
}

export interface AllReaderOptions {
  /** Read events after this position (all of $all when undefined). */
  from?: Position;
  filter: ProjectionFilter;
  pageSize: number;
}

export function inlineAllReader(client: EventStoreDBClient, options: AllReaderOptions): AllReader {
  const { filter, pageSize } = options;
  let from = options.from;
  let pending: Promise<Awaited<ReturnType<typeof readPage>>> | undefined = readPage(client, from, pageSize);
  return {
    async next() {
      if (!pending) return undefined;
      const page = await pending;
      const fresh = page.filter((resolved) => resolved.event?.position && (!from || resolved.event.position.commit > from.commit));
      const last = page.at(-1)?.event?.position;
      pending = page.length >= pageSize && last ? readPage(client, last, pageSize) : undefined;
      if (last) from = last;
      if (fresh.length === 0 && !pending) return undefined;
      const events = fresh.flatMap((resolved) => toProjectedEvent(resolved) ?? []).filter((event) => matchesFilter(filter, event));
      return { events, scanned: fresh.length, last: fresh.at(-1)?.event?.position };
    },
    async close() {
      await pending?.catch(() => undefined);
      pending = undefined;
    },
  };
}

type WorkerMessage = { kind: "page"; json: string; scanned: number; last?: [string, string] } | { kind: "end" } | { kind: "error"; message: string };

/** One event as all-reader-worker.mjs encode() writes it. */
type EncodedEvent = [string, string, string, string, PayloadKind, unknown, PayloadKind, unknown, number, string, string];
type PayloadKind = 0 | 1 | 2;

function decodePayload(kind: PayloadKind, value: unknown): unknown {
  if (kind === 2) return undefined;
  return kind === 1 ? new Uint8Array(Buffer.from(value as string, "base64")) : value;
}

function decodeEvent(e: EncodedEvent): ProjectedEvent {
  return {
    id: e[0],
    streamId: e[1],
    revision: BigInt(e[2]),
    type: e[3],
    data: decodePayload(e[4], e[5]),
    metadata: decodePayload(e[6], e[7]),
    created: new Date(e[8]),
    position: { commit: BigInt(e[9]), prepare: BigInt(e[10]) },
  };
}

/** Pages the worker may read ahead of the one being applied. */
const PAGES_AHEAD = 3;

export function workerAllReader(connectionString: string, options: AllReaderOptions): AllReader {
  const worker = new Worker(new URL("./all-reader-worker.mjs", import.meta.url), {
    resourceLimits: { maxYoungGenerationSizeMb: 64 },
    workerData: { connectionString, from: options.from ?? null, filter: options.filter, pageSize: options.pageSize, ahead: PAGES_AHEAD },
  });
  const queue: WorkerMessage[] = [];
  let waiting: (() => void) | undefined;
  let failure: Error | undefined;
  let ended = false;
  const wake = () => {
    waiting?.();
    waiting = undefined;
  };
  worker.on("message", (message: WorkerMessage) => {
    queue.push(message);
    wake();
  });
  worker.on("error", (error) => {
    failure = error;
    wake();
  });
  worker.on("exit", () => {
    ended = true;
    wake();
  });
  return {
    async next() {
      for (;;) {
        const message = queue.shift();
        if (message?.kind === "page") {
          worker.postMessage("credit");
          const events = (JSON.parse(message.json) as EncodedEvent[]).map(decodeEvent);
          const last = message.last && { commit: BigInt(message.last[0]), prepare: BigInt(message.last[1]) };
          return { events, scanned: message.scanned, last };
        }
        if (message?.kind === "end") return undefined;
        if (message?.kind === "error") throw new Error(`reading $all: ${message.message}`);
        if (failure) throw failure;
        if (ended) throw new Error("the $all reader thread exited before the end of $all");
        await new Promise<void>((resolve) => (waiting = resolve));
      }
    },
    async close() {
      await worker.terminate();
    },
  };
}
