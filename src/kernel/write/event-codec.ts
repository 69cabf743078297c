// Events travel as the protobuf JSON mapping of a contract message, with the message's
// full name as the event type, so any language can decode them from proto/.
import { fromJson, toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { createRegistry, type Registry } from "@bufbuild/protobuf";
import { jsonEvent, type JSONEventType } from "@eventstore/db-client";
import type { JSONType } from "@eventstore/db-client";

/** A decoded event: its contract type name and its message. */
export interface DomainEvent<M = unknown> {
  type: string;
  message: M;
}

/** Metadata carried by every event we write. */
export interface EventMetadata {
  correlationId: string;
  causationId: string;
  [key: string]: string;
}

export class EventCodec {
  private readonly registry: Registry;

  constructor(readonly messages: readonly DescMessage[]) {
    this.registry = createRegistry(...messages);
  }

  /** Whether this codec knows the event type (projections ignore types they don't know). */
  knows(type: string): boolean {
    return this.registry.getMessage(type) !== undefined;
  }

  encode<D extends DescMessage>(desc: D, message: MessageShape<D>, metadata: EventMetadata, id?: string) {
    const data = toJson(desc, message, { registry: this.registry }) as JSONType;
    return jsonEvent({ id, type: desc.typeName, data, metadata }) as ReturnType<typeof jsonEvent<JSONEventType>>;
  }

  /** Decodes JSON event data by its type name; throws on an unknown type or malformed data. */
  decode(type: string, data: unknown): DomainEvent {
    const desc = this.registry.getMessage(type);
    if (!desc) throw new Error(`unknown event type ${type}`);
    return { type, message: fromJson(desc, data as never, { registry: this.registry }) };
  }
}

/** Reads correlation/causation ids from an event's metadata, tolerating foreign writers. */
export function readMetadata(metadata: unknown): Partial<EventMetadata> {
  if (!metadata || typeof metadata !== "object") return {};
  const m = metadata as Record<string, unknown>;
  const out: Partial<EventMetadata> = {};
  if (typeof m.correlationId === "string") out.correlationId = m.correlationId;
  if (typeof m.causationId === "string") out.causationId = m.causationId;
  return out;
}
