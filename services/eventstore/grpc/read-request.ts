// Decodes a Streams.Read request: what to read (a stream or $all, from where, which way, how many
// or "subscribe"), with which filter, and how ids are to be encoded.
import type { Direction, EventFilter } from "../log";
import { parseUint64, streamNameOf } from "./codec";
import { BadRequest } from "./errors";
import { streamsPb } from "./proto";

type ReadReq = InstanceType<typeof streamsPb.ReadReq>;
type FilterOptions = InstanceType<typeof streamsPb.ReadReq.Options.FilterOptions>;

export type StreamStart = { kind: "start" } | { kind: "end" } | { kind: "revision"; revision: bigint };
export type AllStart = { kind: "start" } | { kind: "end" } | { kind: "position"; position: bigint };

export interface ReadRequest {
  target: { kind: "stream"; streamName: string; from: StreamStart } | { kind: "all"; from: AllStart };
  direction: Direction;
  resolveLinks: boolean;
  structuredIds: boolean;
  /** null = subscription. */
  count: bigint | null;
  filter?: EventFilter;
  /** Filtered reads: a checkpoint is sent every this many events examined. */
  checkpointInterval: number;
}

/** EventStoreDB's default filter search window. */
const DEFAULT_SEARCH_WINDOW = 32;
const MAX_REGEX_LENGTH = 1000;

export function parseReadRequest(request: ReadReq): ReadRequest {
  const options = request.getOptions();
  if (!options) throw new BadRequest("Read options are required.");
  const Options = streamsPb.ReadReq.Options;
  const directionValue = options.getReadDirection();
  if (directionValue !== 0 && directionValue !== 1) throw new BadRequest(`Unknown read direction ${directionValue}.`);
  let target: ReadRequest["target"];
  switch (options.getStreamOptionCase()) {
    case Options.StreamOptionCase.STREAM: {
      const stream = options.getStream()!;
      const streamName = streamNameOf(stream.getStreamIdentifier());
      const Cases = Options.StreamOptions.RevisionOptionCase;
      let from: StreamStart;
      switch (stream.getRevisionOptionCase()) {
        case Cases.START:
          from = { kind: "start" };
          break;
        case Cases.END:
          from = { kind: "end" };
          break;
        case Cases.REVISION:
          from = { kind: "revision", revision: parseUint64(stream.getRevision(), "revision") };
          break;
        default:
          throw new BadRequest("A start revision is required.");
      }
      target = { kind: "stream", streamName, from };
      break;
    }
    case Options.StreamOptionCase.ALL: {
      const all = options.getAll()!;
      const Cases = Options.AllOptions.AllOptionCase;
      let from: AllStart;
      switch (all.getAllOptionCase()) {
        case Cases.START:
          from = { kind: "start" };
          break;
        case Cases.END:
          from = { kind: "end" };
          break;
        case Cases.POSITION: {
          const position = all.getPosition()!;
          const commit = parseUint64(position.getCommitPosition(), "commit position");
          parseUint64(position.getPreparePosition(), "prepare position");
          from = { kind: "position", position: commit };
          break;
        }
        default:
          throw new BadRequest("A start position is required.");
      }
      target = { kind: "all", from };
      break;
    }
    default:
      throw new BadRequest("Either a stream or $all must be read.");
  }
  let count: bigint | null;
  switch (options.getCountOptionCase()) {
    case Options.CountOptionCase.COUNT:
      count = parseUint64(options.getCount(), "count");
      break;
    case Options.CountOptionCase.SUBSCRIPTION:
      count = null;
      break;
    default:
      throw new BadRequest("Either a count or a subscription is required.");
  }
  const parsed: ReadRequest = {
    target,
    direction: directionValue === 1 ? "backwards" : "forwards",
    resolveLinks: options.getResolveLinks(),
    structuredIds: options.getUuidOption()?.hasStructured() ?? false,
    count,
    checkpointInterval: DEFAULT_SEARCH_WINDOW,
  };
  if (options.hasFilter()) {
    if (target.kind !== "all") throw new BadRequest("Filters apply to $all only.");
    const { filter, checkpointInterval } = parseFilter(options.getFilter()!);
    parsed.filter = filter;
    parsed.checkpointInterval = checkpointInterval;
  }
  if (count === null && parsed.direction === "backwards") throw new BadRequest("Subscriptions read forwards only.");
  return parsed;
}

function parseFilter(options: FilterOptions): { filter: EventFilter; checkpointInterval: number } {
  const Cases = streamsPb.ReadReq.Options.FilterOptions.FilterCase;
  const filterCase = options.getFilterCase();
  if (filterCase !== Cases.STREAM_IDENTIFIER && filterCase !== Cases.EVENT_TYPE) {
    throw new BadRequest("A filter needs a stream name or event type expression.");
  }
  const expression = filterCase === Cases.STREAM_IDENTIFIER ? options.getStreamIdentifier()! : options.getEventType()!;
  const on = filterCase === Cases.STREAM_IDENTIFIER ? "stream" : "event_type";
  const regexText = expression.getRegex();
  const prefixes = expression.getPrefixList();
  let filter: EventFilter;
  if (regexText) {
    if (regexText.length > MAX_REGEX_LENGTH) throw new BadRequest("The filter regex is too long.");
    try {
      filter = { on, regex: new RegExp(regexText) };
    } catch {
      throw new BadRequest(`Invalid filter regex: ${regexText}`);
    }
  } else if (prefixes.length > 0) {
    filter = { on, prefixes };
  } else {
    throw new BadRequest("A filter needs a regex or at least one prefix.");
  }
  const WindowCases = streamsPb.ReadReq.Options.FilterOptions.WindowCase;
  const window = options.getWindowCase() === WindowCases.MAX ? options.getMax() : DEFAULT_SEARCH_WINDOW;
  if (!(window > 0)) throw new BadRequest("The filter's max search window must be positive.");
  const multiplier = options.getCheckpointintervalmultiplier();
  if (multiplier < 0) throw new BadRequest("The checkpoint interval multiplier must be positive.");
  return { filter, checkpointInterval: window * Math.max(1, multiplier) };
}
