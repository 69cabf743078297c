// MemberQueryService: reads the member read model (eventually consistent with commands).
// GetMember: the caller's own member, or anyone's with an admin token. ListMembersWithdrawnSince:
// admin only, keyset-paged over the (withdrawn_at, id) index.
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { MemberQueryService, MemberSchema, MemberStatus, type Member } from "../../gen/eventmall/member/v1/queries_pb";
import type { Member as MemberRow, Prisma } from "../generated/read-db/sqlite/client";
import { ADMIN_ROLE, authenticate, requireRole, type TokenService } from "../kernel/auth/auth";
import { invalidArgument, notFound, type FieldViolation } from "../kernel/grpc/errors";
import { isUuid, readPageSize } from "../kernel/grpc/fields";
import { pageTokens } from "../kernel/grpc/page-tokens";
import type { ReadDb } from "../kernel/read/read-db";
import { ReadYourWrites } from "../kernel/read/read-your-writes";
import { MEMBER_STATUS, memberProjection } from "./projection";
import { targetMemberId } from "./rules";

// Timestamp's documented range: 0001-01-01 to 9999-12-31.
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

export function memberQueryService(
  db: ReadDb,
  tokens: TokenService,
  readYourWrites = new ReadYourWrites({ db, timeoutMs: 2000 }),
): ServiceImpl<typeof MemberQueryService> {
  return {
    async getMember(request, context) {
      const caller = await authenticate(context, tokens);
      await readYourWrites.waitFor(memberProjection, request.positionToken);
      const memberId = targetMemberId(request.memberId, caller);
      const row = await db.member.findUnique({ where: { id: memberId } });
      if (!row) throw notFound(`member ${memberId} not found`);
      return { member: toMessage(row) };
    },

    async listMembersWithdrawnSince(request, context) {
      requireRole(await authenticate(context, tokens), ADMIN_ROLE);
      await readYourWrites.waitFor(memberProjection, request.positionToken);
      const violations: FieldViolation[] = [];
      const since = request.since === undefined ? undefined : validDate(request.since);
      if (since === undefined) violations.push({ field: "since", description: "must be a valid timestamp" });
      const { pageSize, violation } = readPageSize(request.pageSize);
      if (violation) violations.push(violation);
      if (violations.length > 0 || since === undefined) throw invalidArgument(violations);
      const after = request.pageToken === "" ? undefined : decodePageToken(request.pageToken, since);

      const where: Prisma.MemberWhereInput = {
        AND: [
          { withdrawnAt: { gte: since } },
          after ? { OR: [{ withdrawnAt: { gt: after.withdrawnAt } }, { withdrawnAt: after.withdrawnAt, id: { gt: after.id } }] } : {},
        ],
      };
      const rows = await db.member.findMany({ where, orderBy: [{ withdrawnAt: "asc" }, { id: "asc" }], take: pageSize + 1 });
      const page = rows.slice(0, pageSize);
      const last = page.at(-1);
      const nextPageToken = rows.length > pageSize && last?.withdrawnAt ? encodePageToken(last.withdrawnAt, last.id, since) : "";
      return { members: page.map(toMessage), nextPageToken };
    },
  };
}

function validDate(timestamp: Timestamp): Date | undefined {
  if (timestamp.seconds < MIN_SECONDS || timestamp.seconds > MAX_SECONDS) return undefined;
  if (timestamp.nanos < 0 || timestamp.nanos > 999_999_999) return undefined;
  return timestampDate(timestamp);
}

// A token is valid only for the `since` it was issued with.
const withdrawnPages = pageTokens({ method: "ListMembersWithdrawnSince", keys: ["w", "id"], wrongScope: "was issued for a different `since`" });

function encodePageToken(withdrawnAt: Date, id: string, since: Date): string {
  return withdrawnPages.encode({ w: withdrawnAt.toISOString(), id }, since.toISOString());
}

function decodePageToken(token: string, since: Date): { withdrawnAt: Date; id: string } {
  const { w, id } = withdrawnPages.decode(token, since.toISOString());
  const withdrawnAt = new Date(w);
  if (Number.isNaN(withdrawnAt.getTime()) || !isUuid(id)) throw withdrawnPages.notIssuedHere();
  return { withdrawnAt, id };
}

function toMessage(row: MemberRow): Member {
  return create(MemberSchema, {
    memberId: row.id,
    loginId: row.loginId,
    name: row.name,
    email: row.email,
    address: row.address,
    status: row.status === MEMBER_STATUS.withdrawn ? MemberStatus.WITHDRAWN : MemberStatus.ACTIVE,
    registeredAt: timestampFromDate(row.registeredAt),
    updatedAt: timestampFromDate(row.updatedAt),
    withdrawnAt: row.withdrawnAt ? timestampFromDate(row.withdrawnAt) : undefined,
    passwordChangedAt: row.passwordChangedAt ? timestampFromDate(row.passwordChangedAt) : undefined,
    revision: row.revision,
  });
}
