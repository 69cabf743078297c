// Domain event → integration event: each bounded context declares, for EVERY event type of its
// aggregate, either how it maps to a public message or why it is skipped. A context whose table
// misses a type fails at start-up, so nothing is left out by accident; an event in the context's
// streams that its table does not know throws (retried, then parked), it is never dropped silently.
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { EventCodec, type DomainEvent } from "../write/event-codec";
import { eventJson, type ProjectedEvent } from "../read/projector-checkpoint";

/** What the mapping sees besides the event: earlier events of the same stream, decoded. */
export interface SourceHistory {
  /** The first event of the event's stream (e.g. the creation event carrying what later events refer to). */
  first(): Promise<DomainEvent>;
}

export interface IntegrationMessage {
  schema: DescMessage;
  init: MessageInitShape<DescMessage>;
}

type Rule =
  | { kind: "publish"; source: DescMessage; map: (message: unknown, history: SourceHistory, event: ProjectedEvent) => IntegrationMessage | Promise<IntegrationMessage> }
  | { kind: "skip"; source: DescMessage; why: string };

/** Maps events of type `source` to a public message. */
export function publish<S extends DescMessage>(
  source: S,
  map: (message: MessageShape<S>, history: SourceHistory, event: ProjectedEvent) => IntegrationMessage | Promise<IntegrationMessage>,
): Rule {
  return { kind: "publish", source, map: map as Extract<Rule, { kind: "publish" }>["map"] };
}

/** Events of type `source` have no public meaning: `why` says so where the mapping is read. */
export function skip(source: DescMessage, why: string): Rule {
  if (why.trim() === "") throw new Error(`skipping ${source.typeName} needs a reason`);
  return { kind: "skip", source, why };
}

/** A public message of type `schema` (typed helper for the rules). */
export function message<D extends DescMessage>(schema: D, init: MessageInitShape<D>): IntegrationMessage {
  return { schema, init: init as MessageInitShape<DescMessage> };
}

/** Reads the first event of a stream (the runtime caches these). */
export type FirstEventReader = (streamId: string) => Promise<ProjectedEvent>;

export type MappingOutcome = { kind: "publish"; message: IntegrationMessage; subject: string } | { kind: "skip"; why: string };

export interface ContextMapping {
  /** Subject token: messages go to `<prefix>.<context>.<MessageName>`. */
  readonly context: string;
  /** The context's event streams: "<category>-". */
  readonly streamPrefix: string;
  /** Maps one event of the context's streams; throws on a type it has no rule for, or bad data. */
  map(event: ProjectedEvent, readFirst: FirstEventReader, subjectPrefix: string): Promise<MappingOutcome>;
}

export interface ContextMappingDefinition {
  context: string;
  /** The aggregate's stream category and event list, as the context defines them. */
  aggregate: { stream: { prefix: string }; events: readonly DescMessage[] };
  rules: Rule[];
}

export function defineContextMapping(definition: ContextMappingDefinition): ContextMapping {
  const { context, aggregate, rules } = definition;
  if (!/^[a-z][a-z0-9_-]*$/.test(context)) throw new Error(`context "${context}" is not a valid subject token`);
  const byType = new Map<string, Rule>();
  for (const rule of rules) {
    if (byType.has(rule.source.typeName)) throw new Error(`${context}: two rules for ${rule.source.typeName}`);
    if (!aggregate.events.includes(rule.source)) throw new Error(`${context}: rule for ${rule.source.typeName}, which is not one of the aggregate's events`);
    byType.set(rule.source.typeName, rule);
  }
  const missing = aggregate.events.filter((desc) => !byType.has(desc.typeName)).map((desc) => desc.typeName);
  if (missing.length > 0) throw new Error(`${context}: no publish or skip rule for ${missing.join(", ")}`);
  const codec = new EventCodec(aggregate.events);
  return {
    context,
    streamPrefix: aggregate.stream.prefix,
    async map(event, readFirst, subjectPrefix) {
      const rule = byType.get(event.type);
      if (!rule) throw new Error(`${context}: no rule for event type ${event.type} in ${event.streamId}`);
      if (rule.kind === "skip") return { kind: "skip", why: rule.why };
      const decoded = codec.decode(event.type, eventJson(event));
      const history: SourceHistory = {
        async first() {
          const first = await readFirst(event.streamId);
          return codec.decode(first.type, eventJson(first));
        },
      };
      const mapped = await rule.map(decoded.message, history, event);
      return { kind: "publish", message: mapped, subject: `${subjectPrefix}.${context}.${mapped.schema.name}` };
    },
  };
}
