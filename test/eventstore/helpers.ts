// Small helpers shared by the conformance suite (public client API only).
import { randomUUID } from "node:crypto";
import { jsonEvent, type EventStoreDBClient, type ResolvedEvent, type Position } from "@eventstore/db-client";

export const ADMIN = { username: "admin", password: "changeit" };

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** The error an async iterable ends with (fails the test if it ends normally). */
export async function failureOf(iterable: AsyncIterable<unknown>): Promise<any> {
  try {
    for await (const _ of iterable) {
      /* drain */
    }
  } catch (error) {
    return error;
  }
  throw new Error("expected the read to fail");
}

export async function failureOfPromise(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

export function events(count: number, type = "Happened", from = 0) {
  return Array.from({ length: count }, (_, i) => jsonEvent({ id: randomUUID(), type, data: { n: from + i } }));
}

/** The $all position of the last event of `stream` (appends something to get one when needed). */
export async function positionAfterAppend(client: EventStoreDBClient, stream: string): Promise<Position> {
  const result = await client.appendToStream(stream, events(1, "Marker"));
  if (!result.position) throw new Error("append returned no position");
  return result.position;
}

export function typesOf(resolved: ResolvedEvent[]): string[] {
  return resolved.map((entry) => entry.event!.type);
}

export function revisionsOf(resolved: ResolvedEvent[]): bigint[] {
  return resolved.map((entry) => entry.event!.revision);
}

export const external = Boolean(process.env.EVENTMALL_CONFORMANCE_ESDB);
