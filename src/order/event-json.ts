import type { ProjectedEvent } from "../kernel/projector";

/** The JSON data of an event as a projection or reactor receives it; throws on anything else. */
export function eventJson(event: ProjectedEvent): unknown {
  if (event.data instanceof Uint8Array) return JSON.parse(Buffer.from(event.data).toString("utf8"));
  if (typeof event.data === "string") throw new Error(`event data of ${event.type} is not valid JSON`);
  return event.data;
}
