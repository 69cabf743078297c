// Server-side $all filters: stream name or event type, by prefixes (any matches) or one regex.
import type { EventFilter, StoredEvent } from "./log";

export function matchesFilter(filter: EventFilter | undefined, event: StoredEvent): boolean {
  if (!filter) return true;
  const subject = filter.on === "stream" ? event.streamId : event.type;
  if (filter.regex) return filter.regex.test(subject);
  return (filter.prefixes ?? []).some((prefix) => subject.startsWith(prefix));
}
