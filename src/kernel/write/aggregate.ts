// What an aggregate declares once and everything else imports: its stream category (stream names,
// the prefix projections subscribe to, the id in a stream name), its decider, its event contract
// messages and its snapshot codec (Equinox's Stream / Events / Fold / Decide in one place).
import type { DescMessage, Message } from "@bufbuild/protobuf";
import type { Decider } from "./decider";
import type { SnapshotCodec } from "./snapshots";

export interface StreamCategory {
  readonly category: string;
  /** "<category>-": what a subscription to the aggregate's events filters on. */
  readonly prefix: string;
  streamName(id: string): string;
  /** "<category>_snapshot-<id>": never matches the prefix, so never projected. */
  snapshotStreamName(id: string): string;
  /** The aggregate id in one of its stream names; undefined for any other stream. */
  idOf(streamId: string): string | undefined;
}

export function streamCategory(category: string): StreamCategory {
  const prefix = `${category}-`;
  return {
    category,
    prefix,
    streamName: (id) => `${prefix}${id}`,
    snapshotStreamName: (id) => `${category}_snapshot-${id}`,
    idOf: (streamId) => (streamId.startsWith(prefix) ? streamId.slice(prefix.length) : undefined),
  };
}

export interface AggregateDefinition<State, Command, Event extends Message> {
  /** The aggregate's streams: everything that reads them (projections, reactions) imports this. */
  stream: StreamCategory;
  decider: Decider<State, Command, Event>;
  /** Contract messages of every event type the decider emits. */
  events: readonly DescMessage[];
  snapshot?: SnapshotCodec<State>;
}

/** The stream was not at the revision the command was decided on. */
export class RevisionConflictError extends Error {
  override readonly name = "RevisionConflictError";

  constructor(
    readonly streamName: string,
    /** undefined: the command expected the stream not to exist. */
    readonly expectedRevision: bigint | undefined,
    /** undefined: the stream does not exist. */
    readonly actualRevision: bigint | undefined,
  ) {
    super(
      `stream ${streamName} is at revision ${actualRevision ?? "none"}, expected ${expectedRevision ?? "no stream"}`,
    );
  }
}
