// Read-your-writes: a command answers with an opaque position token (its $all commit position);
// a query that carries it waits, bounded, until the read model it reads has passed that position.
//
// "Passed" is not just "checkpoint ≥ position": a projection's checkpoint only moves on events it
// handles, so a write it filters out would never be reached. When the checkpoint is behind, the
// $all events between it and the position are scanned (with the projection's filter): if none of
// them is for the projection, and the scan saw the token's event, there is nothing to wait for.
import type { EventStoreDBClient, Position } from "@eventstore/db-client";
import { matchesFilter, readPage } from "./all-events";
import { invalidArgument, unavailable } from "../grpc/errors";
import { readCheckpoint, type Projection } from "./projector-checkpoint";
import type { ReadDb } from "./read-db";
import { pollUntil } from "../process/poll";

const TOKEN_PREFIX = "p1:";
const SCAN_PAGE = 1_000;
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 50;

/** The token a command returns for a write at `commitPosition`. */
export function encodePositionToken(commitPosition: bigint): string {
  return Buffer.from(`${TOKEN_PREFIX}${commitPosition}`, "utf8").toString("base64url");
}

/** The commit position in a token; INVALID_ARGUMENT (on `field`) for anything a command did not issue. */
export function decodePositionToken(token: string, field = "position_token"): bigint {
  // Tokens issued before they became opaque were the decimal position itself.
  if (/^\d{1,20}$/.test(token)) return BigInt(token);
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(token) ? Buffer.from(token, "base64url").toString("utf8") : "";
  const digits = text.startsWith(TOKEN_PREFIX) ? text.slice(TOKEN_PREFIX.length) : "";
  if (!/^\d{1,20}$/.test(digits)) throw invalidArgument([{ field, description: "not a position token issued by a command" }]);
  return BigInt(digits);
}

export interface ReadYourWritesOptions {
  db: ReadDb;
  /** Without a store client only the checkpoint counts (a filtered-out write then waits out the timeout). */
  client?: EventStoreDBClient;
  timeoutMs: number;
}

type ReadModel = Pick<Projection, "name" | "filter">;

/** Known: no event for the projection in $all after `after` up to and including `upTo`. */
interface ScannedRange {
  after: bigint;
  upTo: Position;
}

export class ReadYourWrites {
  private readonly scanned = new Map<string, ScannedRange>();

  constructor(private readonly options: ReadYourWritesOptions) {}

  /** Returns once `readModel` has passed the token's write (at once for an empty token); UNAVAILABLE after the timeout. */
  async waitFor(readModel: ReadModel, token: string, field = "position_token"): Promise<void> {
    if (token === "") return;
    const position = decodePositionToken(token, field);
    const deadline = Date.now() + this.options.timeoutMs;
    if (await pollUntil(() => this.hasPassed(readModel, position), { deadline, firstMs: FIRST_POLL_MS, maxMs: MAX_POLL_MS })) return;
    throw unavailable(
      `the ${readModel.name} read model has not caught up with the write in ${field} within ${this.options.timeoutMs} ms; retry later`,
      "READ_MODEL_BEHIND",
    );
  }

  async hasPassed(readModel: ReadModel, position: bigint): Promise<boolean> {
    const checkpoint = await readCheckpoint(this.options.db, readModel.name);
    if (checkpoint && checkpoint.commit >= position) return true;
    if (!this.options.client) return false;
    try {
      return await this.nothingToWaitFor(readModel, checkpoint, position);
    } catch {
      // Store unreachable: fall back to the checkpoint alone (wait, and answer UNAVAILABLE at the timeout).
      return false;
    }
  }

  /** Scans $all after the checkpoint (resuming an earlier scan) for an event of the projection at or before `position`. */
  private async nothingToWaitFor(readModel: ReadModel, checkpoint: Position | null, position: bigint): Promise<boolean> {
    const after = checkpoint?.commit ?? -1n;
    const known = this.scanned.get(readModel.name);
    const resume = known && known.after <= after && known.upTo.commit > after ? known.upTo : checkpoint;
    if (resume && resume.commit >= position) return true;
    let last: Position | undefined;
    let reachedWrite = false;
    for (const resolved of await readPage(this.options.client!, resume ?? undefined, SCAN_PAGE)) {
      const event = resolved.event;
      if (!event?.position || event.position.commit <= (resume?.commit ?? -1n)) continue;
      if (event.position.commit > position) {
        reachedWrite = true;
        break;
      }
      if (matchesFilter(readModel.filter, event)) return false;
      last = event.position;
      if (event.position.commit === position) {
        reachedWrite = true;
        break;
      }
    }
    if (last) this.scanned.set(readModel.name, { after: known && resume === known.upTo ? known.after : after, upTo: last });
    // A position beyond the end of $all (or beyond this page) is not passed yet.
    return reachedWrite;
  }

}
