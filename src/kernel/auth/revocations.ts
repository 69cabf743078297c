// Subjects whose access tokens are refused although signed and unexpired, learnt from the event log:
// a catch-up subscription to $all, filtered server-side on the event types that revoke, feeds an
// in-memory set. Every replica follows the same log, so all of them refuse the subject (within the
// subscription's latency, milliseconds), and a restarted process re-reads the revocations before it
// serves: no shared cache to keep, nothing to lose. The set grows by one id per revoked subject.
import { START, eventTypeFilter, type AllStreamSubscription, type EventStoreDBClient, type Position } from "@eventstore/db-client";

export interface RevocationFeed {
  /** Event types (exact names) whose events revoke a subject. */
  eventTypes: readonly string[];
  /** The subject such an event revokes (undefined: none). */
  subjectOf(event: { streamId: string; type: string }): string | undefined;
}

export interface RevocationLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface RevokedSubjectsOptions {
  /** Wait before resubscribing after the subscription failed (the store was unreachable, say). */
  retryMs?: number;
}

export class RevokedSubjects {
  private readonly revoked = new Set<string>();
  private readonly types: Set<string>;
  private from: Position | typeof START = START;
  private subscription: AllStreamSubscription | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private caughtUp = false;
  private failing = false;

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly feed: RevocationFeed,
    private readonly logger: RevocationLogger,
    private readonly options: RevokedSubjectsOptions = {},
  ) {
    this.types = new Set(feed.eventTypes);
  }

  has(subject: string): boolean {
    return this.revoked.has(subject);
  }

  /** Revokes at once in this process; the subscription brings the same revocation to every other one. */
  revoke(subject: string): void {
    this.revoked.add(subject);
  }

  get size(): number {
    return this.revoked.size;
  }

  /** True once every revocation that was in the log at start is known (the feed caught up once). */
  get loaded(): boolean {
    return this.caughtUp;
  }

  /**
   * Subscribes. Resolves true once every revocation already in the log is known (caught up), or
   * false as soon as the store fails to answer; it then keeps retrying, and `loaded` turns true
   * when it catches up: serve meanwhile, but refuse to vouch for tokens (see refusingRevoked).
   */
  start(): Promise<boolean> {
    return new Promise((resolve) => this.subscribe(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.subscription?.unsubscribe().catch(() => undefined);
  }

  private subscribe(settle?: (loaded: boolean) => void): void {
    if (this.closed) return;
    const regex = `^(${[...this.types].map(escapeRegex).join("|")})$`;
    const subscription = this.client.subscribeToAll({ fromPosition: this.from, filter: eventTypeFilter({ regex }) });
    this.subscription = subscription;
    subscription.on("data", (resolved) => {
      this.failing = false;
      const event = resolved.event;
      if (!event) return;
      if (this.types.has(event.type)) {
        const subject = this.feed.subjectOf({ streamId: event.streamId, type: event.type });
        if (subject !== undefined) this.revoked.add(subject);
      }
      if (event.position) this.from = event.position;
    });
    subscription.once("caughtUp", () => {
      if (!this.caughtUp) this.logger.info({ revoked: this.revoked.size }, "token revocations loaded");
      this.caughtUp = true;
      settle?.(true);
    });
    subscription.once("error", (error) => {
      settle?.(false);
      if (this.closed) return;
      // One line per outage, not one per retry.
      if (!this.failing) this.logger.warn({ err: error }, "token revocation feed failed; resubscribing until the event store answers");
      this.failing = true;
      void subscription.unsubscribe().catch(() => undefined);
      this.retry = setTimeout(() => this.subscribe(), this.options.retryMs ?? 1000);
    });
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
