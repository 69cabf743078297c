import { StreamNotFoundError, type EventStoreDBClient, type ReadStreamOptions, type RecordedEvent } from "@eventstore/db-client";

export interface StreamEvents {
  events: RecordedEvent[];
  /** False when the stream does not exist (or was deleted). */
  found: boolean;
}

/**
 * Reads a stream to the end of the requested range. Always drains the read: leaving a for-await
 * early leaves the client's gRPC call open, and client.dispose() then never resolves.
 */
export async function readStreamEvents(client: EventStoreDBClient, stream: string, options: ReadStreamOptions): Promise<StreamEvents> {
  const events: RecordedEvent[] = [];
  try {
    for await (const resolved of client.readStream(stream, options)) {
      if (resolved.event) events.push(resolved.event);
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
    return { events, found: false };
  }
  return { events, found: true };
}
