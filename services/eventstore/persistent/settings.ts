// A subscription group's configuration: where it reads from, how it filters, and the
// settings the client sends. Parsed from Create/Update requests and persisted as JSON.
import { invalidArgument, subscriptionFailed } from "./errors";
import { persistentPb, streamNameOf, type CreateReq, type UpdateReq } from "./stubs";

export const ALL_STREAM = "$all";
const STREAM_REVISION_END = 18446744073709551615n; // u64::MAX: the client's "end" for stream groups

/** The consumer strategies KurrentDB ships (PinnedByCorrelation since EventStoreDB 21.10). */
export type ConsumerStrategyName = "RoundRobin" | "DispatchToSingle" | "Pinned" | "PinnedByCorrelation";
const CONSUMER_STRATEGIES: readonly string[] = ["RoundRobin", "DispatchToSingle", "Pinned", "PinnedByCorrelation"];

export interface GroupSettings {
  resolveLinks: boolean;
  extraStatistics: boolean;
  messageTimeoutMs: number;
  maxRetryCount: number;
  checkpointAfterMs: number;
  minCheckpointCount: number;
  maxCheckpointCount: number;
  /** 0 means unbounded. */
  maxSubscriberCount: number;
  liveBufferSize: number;
  readBatchSize: number;
  historyBufferSize: number;
  consumerStrategy: ConsumerStrategyName;
}

/** Where a group without a checkpoint starts: a stream revision, or an $all commit position. */
export type StartFrom = { kind: "start" } | { kind: "end" } | { kind: "at"; value: bigint };

export interface FilterSpec {
  on: "stream" | "event_type";
  prefixes: string[];
  regex?: string;
}

export interface GroupConfig {
  /** The subscribed stream, or "$all". */
  stream: string;
  group: string;
  startFrom: StartFrom;
  filter?: FilterSpec;
  settings: GroupSettings;
}

export const groupKey = (stream: string, group: string) => `${stream}::${group}`;

type AnySettings = InstanceType<typeof persistentPb.CreateReq.Settings> | InstanceType<typeof persistentPb.UpdateReq.Settings>;

function durationMs(hasMs: boolean, ms: number, hasTicks: boolean, ticks: string): number {
  if (hasMs) return ms;
  if (hasTicks) return Number(BigInt(ticks || "0") / 10_000n);
  return 0;
}

function consumerStrategyOf(settings: AnySettings): string {
  const named = "getConsumerStrategy" in settings ? settings.getConsumerStrategy() : "";
  if (named) return named;
  switch (settings.getNamedConsumerStrategy()) {
    case persistentPb.CreateReq.ConsumerStrategy.DISPATCHTOSINGLE:
      return "DispatchToSingle";
    case persistentPb.CreateReq.ConsumerStrategy.ROUNDROBIN:
      return "RoundRobin";
    case persistentPb.CreateReq.ConsumerStrategy.PINNED:
      return "Pinned";
    default:
      return String(settings.getNamedConsumerStrategy());
  }
}

function readSettings(settings: AnySettings): Omit<GroupSettings, "consumerStrategy"> & { consumerStrategy: string } {
  return {
    resolveLinks: settings.getResolveLinks(),
    extraStatistics: settings.getExtraStatistics(),
    messageTimeoutMs: durationMs(
      settings.hasMessageTimeoutMs(),
      settings.getMessageTimeoutMs(),
      settings.hasMessageTimeoutTicks(),
      settings.getMessageTimeoutTicks(),
    ),
    maxRetryCount: settings.getMaxRetryCount(),
    checkpointAfterMs: durationMs(
      settings.hasCheckpointAfterMs(),
      settings.getCheckpointAfterMs(),
      settings.hasCheckpointAfterTicks(),
      settings.getCheckpointAfterTicks(),
    ),
    minCheckpointCount: settings.getMinCheckpointCount(),
    maxCheckpointCount: settings.getMaxCheckpointCount(),
    maxSubscriberCount: settings.getMaxSubscriberCount(),
    liveBufferSize: settings.getLiveBufferSize(),
    readBatchSize: settings.getReadBatchSize(),
    historyBufferSize: settings.getHistoryBufferSize(),
    consumerStrategy: consumerStrategyOf(settings),
  };
}

/** The reason EventStoreDB-style validation refuses these settings, or undefined. */
function invalidSettingsReason(s: ReturnType<typeof readSettings>): string | undefined {
  if (!CONSUMER_STRATEGIES.includes(s.consumerStrategy)) return `Consumer strategy ${s.consumerStrategy} does not exist.`;
  if (s.messageTimeoutMs < 0) return "MessageTimeout must not be negative.";
  if (s.checkpointAfterMs < 0) return "CheckPointAfter must not be negative.";
  if (s.maxRetryCount < 0) return "MaxRetryCount must not be negative.";
  if (s.minCheckpointCount < 0) return "MinCheckPointCount must not be negative.";
  if (s.maxSubscriberCount < 0) return "MaxSubscriberCount must not be negative.";
  if (s.liveBufferSize <= 0) return "LiveBufferSize must be positive.";
  if (s.readBatchSize <= 0) return "ReadBatchSize must be positive.";
  if (s.historyBufferSize <= 0) return "HistoryBufferSize must be positive.";
  return undefined;
}

function validatedSettings(stream: string, group: string, settings: AnySettings | undefined): GroupSettings {
  if (!settings) throw invalidArgument("Settings are required.");
  const parsed = readSettings(settings);
  const reason = invalidSettingsReason(parsed);
  if (reason) throw subscriptionFailed(stream, group, reason);
  return parsed as GroupSettings;
}

function revisionStart(value: string): StartFrom {
  const revision = BigInt(value || "0");
  if (revision === STREAM_REVISION_END) return { kind: "end" };
  if (revision === 0n) return { kind: "start" };
  return { kind: "at", value: revision };
}

/** A filter as the client sends it; a bad regex is refused here, before anything is stored. */
function filterOf(options: InstanceType<typeof persistentPb.CreateReq.AllOptions>): FilterSpec | undefined {
  if (!options.hasFilter()) return undefined;
  const filter = options.getFilter()!;
  const expression = filter.hasEventType() ? filter.getEventType() : filter.getStreamIdentifier();
  if (!expression) throw invalidArgument("A filter needs an event type or stream identifier expression.");
  const spec: FilterSpec = {
    on: filter.hasEventType() ? "event_type" : "stream",
    prefixes: expression.getPrefixList(),
  };
  const regex = expression.getRegex();
  if (regex) {
    try {
      new RegExp(regex);
    } catch (error) {
      throw invalidArgument(`Invalid filter regex '${regex}': ${(error as Error).message}`);
    }
    spec.regex = regex;
  }
  return spec;
}

function allStart(options: { hasStart(): boolean; hasEnd(): boolean; hasPosition(): boolean; getPosition(): { getCommitPosition(): string } | undefined }): StartFrom {
  if (options.hasPosition()) {
    const commit = BigInt(options.getPosition()!.getCommitPosition() || "0");
    return commit === 0n ? { kind: "start" } : { kind: "at", value: commit };
  }
  if (options.hasEnd()) return { kind: "end" };
  return { kind: "start" };
}

function requireGroupName(group: string): string {
  if (!group) throw invalidArgument("Group name must not be empty.");
  return group;
}

function bigintOrThrow(parse: () => StartFrom): StartFrom {
  try {
    return parse();
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof RangeError) throw invalidArgument(`Invalid start position: ${error.message}`);
    throw error;
  }
}

export function configFromCreate(request: CreateReq): GroupConfig {
  const options = request.getOptions();
  if (!options) throw invalidArgument("CreateReq.options is required.");
  const group = requireGroupName(options.getGroupName());
  const Case = persistentPb.CreateReq.Options.StreamOptionCase;
  if (options.getStreamOptionCase() === Case.ALL) {
    const all = options.getAll()!;
    const filter = filterOf(all);
    return {
      stream: ALL_STREAM,
      group,
      startFrom: bigintOrThrow(() => allStart(all)),
      ...(filter ? { filter } : {}),
      settings: validatedSettings(ALL_STREAM, group, options.getSettings()),
    };
  }
  const streamOptions = options.getStreamOptionCase() === Case.STREAM ? options.getStream() : undefined;
  const stream = streamOptions ? streamNameOf(streamOptions.getStreamIdentifier()) : streamNameOf(options.getStreamIdentifier());
  if (!stream) throw invalidArgument("Stream name must not be empty.");
  const startFrom = bigintOrThrow(() => {
    if (!streamOptions) return revisionStart(options.getSettings()?.getRevision() ?? "0");
    if (streamOptions.hasEnd()) return { kind: "end" };
    if (streamOptions.hasRevision()) return revisionStart(streamOptions.getRevision());
    return { kind: "start" };
  });
  return { stream, group, startFrom, settings: validatedSettings(stream, group, options.getSettings()) };
}

/** The target of an update and its new start/settings; the filter of a $all group is kept. */
export function configFromUpdate(request: UpdateReq): Omit<GroupConfig, "filter"> {
  const options = request.getOptions();
  if (!options) throw invalidArgument("UpdateReq.options is required.");
  const group = requireGroupName(options.getGroupName());
  const Case = persistentPb.UpdateReq.Options.StreamOptionCase;
  if (options.getStreamOptionCase() === Case.ALL) {
    const all = options.getAll()!;
    return {
      stream: ALL_STREAM,
      group,
      startFrom: bigintOrThrow(() => allStart(all)),
      settings: validatedSettings(ALL_STREAM, group, options.getSettings()),
    };
  }
  const streamOptions = options.getStreamOptionCase() === Case.STREAM ? options.getStream() : undefined;
  const stream = streamOptions ? streamNameOf(streamOptions.getStreamIdentifier()) : streamNameOf(options.getStreamIdentifier());
  if (!stream) throw invalidArgument("Stream name must not be empty.");
  const startFrom = bigintOrThrow(() => {
    if (!streamOptions) return revisionStart(options.getSettings()?.getRevision() ?? "0");
    if (streamOptions.hasEnd()) return { kind: "end" };
    if (streamOptions.hasRevision()) return revisionStart(streamOptions.getRevision());
    return { kind: "start" };
  });
  return { stream, group, startFrom, settings: validatedSettings(stream, group, options.getSettings()) };
}

// JSON form for the config stream (bigints as strings).
export interface StoredGroupConfig extends Omit<GroupConfig, "startFrom"> {
  startFrom: { kind: "start" } | { kind: "end" } | { kind: "at"; value: string };
}

export function toStored(config: GroupConfig): StoredGroupConfig {
  const startFrom = config.startFrom.kind === "at" ? { kind: "at" as const, value: config.startFrom.value.toString() } : config.startFrom;
  return { ...config, startFrom };
}

export function fromStored(stored: StoredGroupConfig): GroupConfig {
  if (typeof stored?.stream !== "string" || typeof stored.group !== "string" || typeof stored.settings !== "object") {
    throw new Error("not a subscription group config");
  }
  const reason = invalidSettingsReason(stored.settings);
  if (reason) throw new Error(reason);
  if (stored.filter?.regex !== undefined) new RegExp(stored.filter.regex);
  const startFrom: StartFrom =
    stored.startFrom.kind === "at" ? { kind: "at", value: BigInt(stored.startFrom.value) } : stored.startFrom;
  return { ...stored, startFrom };
}

/** How GetInfo reports startFrom: "0"/"-1"/revision for streams, "C:x/P:y" for $all. */
export function startFromText(config: GroupConfig): string {
  const all = config.stream === ALL_STREAM;
  switch (config.startFrom.kind) {
    case "start":
      return all ? "C:0/P:0" : "0";
    case "end":
      return all ? "C:-1/P:-1" : "-1";
    case "at":
      return all ? `C:${config.startFrom.value}/P:${config.startFrom.value}` : config.startFrom.value.toString();
  }
}
