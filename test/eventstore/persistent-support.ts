// Helpers for the persistent-subscription suite: an inbox that takes deliveries one by one
// (so each test decides to ack or nack), and polling of GetInfo until a condition holds.
import { randomUUID } from "node:crypto";
import {
  jsonEvent,
  type EventStoreDBClient,
  type PersistentSubscriptionToAllResolvedEvent,
  type PersistentSubscriptionToStreamResolvedEvent,
} from "@eventstore/db-client";

type Delivered = PersistentSubscriptionToStreamResolvedEvent | PersistentSubscriptionToAllResolvedEvent;

interface Subscription<E extends Delivered> {
  on(event: "data", listener: (event: E) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "confirmation", listener: () => void): unknown;
  once(event: "confirmation", listener: () => void): unknown;
  unsubscribe(): Promise<void>;
  ack(...events: E[]): Promise<void>;
  nack(action: "park" | "retry" | "skip" | "stop", reason: string, ...events: E[]): Promise<void>;
}

export class Inbox<E extends Delivered> {
  private readonly items: E[] = [];
  private waiters: (() => void)[] = [];
  error: Error | undefined;
  readonly confirmed: Promise<void>;

  constructor(readonly subscription: Subscription<E>) {
    this.confirmed = new Promise((resolve) => subscription.once("confirmation", resolve));
    subscription.on("data", (event) => {
      this.items.push(event);
      this.wake();
    });
    subscription.on("error", (error) => {
      this.error = error;
      this.wake();
    });
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** The next n deliveries; fails if the subscription errors or they do not come within `withinMs`. */
  async take(n: number, withinMs = 10_000): Promise<E[]> {
    const deadline = Date.now() + withinMs;
    while (this.items.length < n) {
      if (this.error) throw this.error;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} deliveries, got ${this.items.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.items.splice(0, n);
  }

  /** Resolves with the subscription's error once it has one. */
  async dropped(withinMs = 10_000): Promise<Error> {
    const deadline = Date.now() + withinMs;
    while (!this.error) {
      if (Date.now() > deadline) throw new Error("the subscription was not dropped");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.error;
  }

  get pending(): number {
    return this.items.length;
  }
}

/** Polls until `check` returns a value that is not undefined (or fails after `withinMs`). */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, withinMs = 10_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function numbered(count: number, type = "Numbered", from = 0) {
  return Array.from({ length: count }, (_, i) => jsonEvent({ type, data: { n: from + i } }));
}

export const n = (delivered: Delivered) => (delivered.event!.data as { n: number }).n;

export async function append(client: EventStoreDBClient, stream: string, count: number, from = 0, type = "Numbered") {
  await client.appendToStream(stream, numbered(count, type, from));
}

/** A delivery-shaped value carrying an id the server never sent, for ack/nack of unknown ids. */
export function unknownDelivery(): Delivered {
  return { event: { id: randomUUID() } } as unknown as Delivered;
}

export const uniqueGroup = () => `group-${randomUUID().slice(0, 8)}`;
