// ProjectionAdminService: projection status and the parked events of each projection's
// subscription group (list, inspect, replay). Admin role required on every call.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { PersistentSubscriptionDoesNotExistError, START, StreamNotFoundError, type EventStoreDBClient, type ResolvedEvent } from "@eventstore/db-client";
import {
  ParkedEventSchema,
  ProjectionAdminService,
  ProjectionState,
  ReplayedEventSchema,
  ReplayOutcome,
  type ParkedEvent,
  type ReplayedEvent,
} from "../../gen/eventmall/admin/v1/admin_pb";
import { ADMIN_ROLE, authenticate, requireRole, type TokenService } from "../kernel/auth/auth";
import { invalidArgument, notFound } from "../kernel/grpc/errors";
import { readPageSize, type PageSizeLimits } from "../kernel/grpc/fields";
import { parkedCount, readProjectionStatus } from "../kernel/read/projection-status";
import { groupName, type Projection } from "../kernel/read/projector";
import { pollUntil } from "../kernel/process/poll";
import { readCheckpoint } from "../kernel/read/projector-checkpoint";
import type { ReadDb } from "../kernel/read/read-db";

export interface ProjectionAdminDependencies {
  db: ReadDb;
  client: EventStoreDBClient;
  tokens: TokenService;
  projections: Pick<Projection, "name" | "filter">[];
}

/** Parked events listed per page: more than the list queries', each one is small. */
const PARKED_PAGE_SIZE: PageSizeLimits = { default: 100, max: 500 };
/** Replayed events the answer accounts for one by one. */
const REPLAY_REPORT_LIMIT = 1_000;
/** How long a replay call waits for the projection to apply what it handed back. */
const REPLAY_WAIT_MS = 10_000;
const REPLAY_POLL_MS = 100;

const STATES: Record<string, ProjectionState> = {
  catching_up: ProjectionState.CATCHING_UP,
  live: ProjectionState.LIVE,
  stopped: ProjectionState.STOPPED,
  failed: ProjectionState.FAILED,
  waiting: ProjectionState.WAITING,
};

/** The store's parked-message stream of a $all subscription group. */
export function parkedStreamOf(projection: Pick<Projection, "name">): string {
  return `$persistentsubscription-$all::${groupName(projection)}-parked`;
}

export function projectionAdminService(deps: ProjectionAdminDependencies): ServiceImpl<typeof ProjectionAdminService> {
  const { db, client, projections } = deps;
  const admin = async (context: HandlerContext) => requireRole(await authenticate(context, deps.tokens), ADMIN_ROLE);
  const projectionNamed = (name: string) => {
    if (name === "") throw invalidArgument([{ field: "projection", description: "is required" }]);
    const projection = projections.find((p) => p.name === name);
    if (!projection) throw notFound(`no projection named "${name}" (known: ${projections.map((p) => p.name).join(", ")})`, "PROJECTION_NOT_FOUND");
    return projection;
  };

  return {
    async getProjectionStatus(_request, context) {
      await admin(context);
      const reports = await readProjectionStatus({ db, client, projections });
      return {
        projections: reports.map((report) => ({
          name: report.name,
          state: STATES[report.state] ?? ProjectionState.UNSPECIFIED,
          detail: report.detail,
          checkpointPosition: report.checkpoint,
          lagEvents: BigInt(report.lagEvents),
          lagEventsCapped: report.lagCapped,
          lagMs: BigInt(report.lagMs),
          parkedCount: report.parkedCount,
          updatedAt: report.updatedAt ? timestampFromDate(report.updatedAt) : undefined,
        })),
      };
    },

    async listParkedEvents(request, context) {
      await admin(context);
      const projection = projectionNamed(request.projection);
      const { pageSize, violation } = readPageSize(request.pageSize, PARKED_PAGE_SIZE);
      if (violation) throw invalidArgument([violation]);
      const entries = await readParked(client, projection, START, pageSize);
      return { events: await Promise.all(entries.map((entry) => toParkedEvent(db, projection, entry))) };
    },

    async getParkedEvent(request, context) {
      await admin(context);
      const projection = projectionNamed(request.projection);
      const [entry] = await readParked(client, projection, request.parkedRevision, 1);
      if (!entry || entry.link?.revision !== request.parkedRevision || !entry.event) {
        throw notFound(`projection ${projection.name} has no parked event at revision ${request.parkedRevision}`, "PARKED_EVENT_NOT_FOUND");
      }
      const event = entry.event;
      return {
        event: await toParkedEvent(db, projection, entry),
        data: bytesOf(event.data),
        metadata: bytesOf(event.metadata),
        contentType: event.isJson ? "application/json" : "application/octet-stream",
      };
    },

    async replayParkedEvents(request, context) {
      await admin(context);
      const projection = projectionNamed(request.projection);
      const count = await parkedCount(client, projection);
      const parked = (await readParked(client, projection, START, REPLAY_REPORT_LIMIT)).flatMap((entry) => (entry.event?.position ? [{ ...entry.event, position: entry.event.position }] : []));
      const expected = await expectedReplayOutcomes(db, projection.name, parked);
      try {
        await client.replayParkedMessagesToAll(groupName(projection));
      } catch (error) {
        if (error instanceof PersistentSubscriptionDoesNotExistError) throw notFound(`projection ${projection.name} has no subscription group yet`, "GROUP_NOT_FOUND");
        throw error;
      }
      const events = await awaitReplayOutcomes(db, projection.name, expected, REPLAY_WAIT_MS);
      const counted = (outcome: ReplayOutcome) => BigInt(events.filter((event) => event.outcome === outcome).length);
      return {
        replayedCount: count,
        appliedCount: counted(ReplayOutcome.APPLIED),
        skippedCount: counted(ReplayOutcome.SKIPPED),
        pendingCount: counted(ReplayOutcome.PENDING),
        events,
      };
    },
  };
}

async function readParked(client: EventStoreDBClient, projection: Pick<Projection, "name">, from: bigint | typeof START, maxCount: number): Promise<ResolvedEvent[]> {
  const entries: ResolvedEvent[] = [];
  try {
    for await (const resolved of client.readStream(parkedStreamOf(projection), { fromRevision: from, maxCount, resolveLinkTos: true })) entries.push(resolved);
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
  return entries;
}

async function toParkedEvent(db: ReadDb, projection: Pick<Projection, "name">, entry: ResolvedEvent): Promise<ParkedEvent> {
  const link = entry.link;
  const event = entry.event;
  const parkedMeta = jsonObject(link?.metadata) as { added?: unknown; reason?: unknown };
  const commitPosition = event?.position?.commit ?? 0n;
  const retry = event?.position ? await db.projectionRetry.findUnique({ where: { projection_commitPosition: { projection: projection.name, commitPosition } } }) : null;
  const added = typeof parkedMeta.added === "string" ? new Date(parkedMeta.added) : link?.created;
  return create(ParkedEventSchema, {
    parkedRevision: link?.revision ?? 0n,
    eventId: event?.id ?? "",
    streamId: event?.streamId ?? "",
    streamRevision: event?.revision ?? 0n,
    eventType: event?.type ?? "",
    commitPosition,
    parkedAt: added && !Number.isNaN(added.getTime()) ? timestampFromDate(added) : undefined,
    reason: typeof parkedMeta.reason === "string" ? parkedMeta.reason : "",
    lastError: retry?.lastError ?? "",
  });
}

function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value === undefined || value === null) return new Uint8Array();
  return new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
}

/** The parked entry's metadata arrives parsed or as bytes, depending on its content type. */
function jsonObject(value: unknown): Record<string, unknown> {
  if (value instanceof Uint8Array) {
    try {
      return jsonObject(JSON.parse(Buffer.from(value).toString("utf8")));
    } catch {
      return {};
    }
  }
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

type ParkedOriginal = NonNullable<ResolvedEvent["event"]> & { position: { commit: bigint } };

/**
 * What the projection will do with each replayed event, by the rule it applies: an event with a
 * retry mark is applied (the mark records that it was never applied); one ahead of the checkpoint
 * is applied in order; one behind the checkpoint without a mark is skipped as already applied.
 */
async function expectedReplayOutcomes(db: ReadDb, projection: string, parked: ParkedOriginal[]): Promise<ReplayedEvent[]> {
  const checkpoint = (await readCheckpoint(db, projection))?.commit;
  const marks = await db.projectionRetry.findMany({ where: { projection, commitPosition: { in: parked.map((event) => event.position.commit) } }, select: { commitPosition: true } });
  const marked = new Set(marks.map((mark) => mark.commitPosition));
  return parked.map((event) => {
    const position = event.position.commit;
    const willApply = marked.has(position) || checkpoint === undefined || position > checkpoint;
    return create(ReplayedEventSchema, {
      eventId: event.id,
      streamId: event.streamId,
      streamRevision: event.revision,
      commitPosition: position,
      outcome: willApply ? ReplayOutcome.PENDING : ReplayOutcome.SKIPPED,
      reason: willApply
        ? ""
        : "behind the checkpoint with no retry mark: the projection applied it before it was parked (or it was parked without the projector's knowledge; `npm run projections -- verify` tells)",
    });
  });
}

/** Polls until every pending event is applied (its mark gone, or the checkpoint past it) or the wait ends. */
async function awaitReplayOutcomes(db: ReadDb, projection: string, events: ReplayedEvent[], waitMs: number): Promise<ReplayedEvent[]> {
  const settle = async () => {
    const pending = events.filter((event) => event.outcome === ReplayOutcome.PENDING);
    if (pending.length === 0) return true;
    const checkpoint = (await readCheckpoint(db, projection))?.commit;
    const marks = await db.projectionRetry.findMany({ where: { projection, commitPosition: { in: pending.map((event) => event.commitPosition) } } });
    const byPosition = new Map(marks.map((mark) => [mark.commitPosition, mark]));
    for (const event of pending) {
      const mark = byPosition.get(event.commitPosition);
      if (!mark && checkpoint !== undefined && checkpoint >= event.commitPosition) event.outcome = ReplayOutcome.APPLIED;
      else if (mark) event.reason = `not applied yet; last failure: ${mark.lastError}`;
    }
    return pending.every((event) => event.outcome !== ReplayOutcome.PENDING);
  };
  if (!(await pollUntil(settle, { deadline: Date.now() + waitMs, firstMs: REPLAY_POLL_MS, maxMs: REPLAY_POLL_MS }))) {
    for (const event of events) if (event.outcome === ReplayOutcome.PENDING && event.reason === "") event.reason = `not applied within ${waitMs} ms`;
  }
  return events;
}
