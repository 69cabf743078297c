// Benchmark 2: "members withdrawn in the last 7 days" among N members (default 1,000,000) whose
// withdrawals are spread over a year: from the member read model vs by loading every member
// aggregate and checking it. Both sides are seeded in bulk, not through the command service
// (far too slow here): the read model's member table with one multi-row insert per batch, the
// event store's SQLite file with the MemberRegistered/MemberWithdrawn events the decider emits.
import { randomUUID } from "node:crypto";
import path from "node:path";
import Database from "better-sqlite3";
import { create, toJson } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { EventStoreDBClient } from "@eventstore/db-client";
import { MemberRegisteredSchema, MemberWithdrawnSchema, type MemberWithdrawn } from "../../gen/eventmall/member/v1/events_pb";
import { migrateReadDb, openReadDb } from "../../src/kernel/read/read-db";
import { AggregateRepository, type AggregateDefinition } from "../../src/kernel/write/repository";
import { MemberStream, memberDecider, memberEventMessages, type MemberCommand, type MemberEvent, type MemberState } from "../../src/member/decider";
import { MEMBER_STATUS } from "../../src/member/projection";
import { EventTable, nowTicks, openDatabase } from "../../services/eventstore/sqlite-store";
import { timeRuns, type LatencySummary } from "../lib/histogram";
import { startEventStoreProcess } from "../lib/processes";

export interface MembersOptions {
  dir: string;
  members: number;
  /** Share of members that withdrew during the year. */
  withdrawnShare: number;
  /** Members loaded (sequentially) on the aggregate side; the full scan is extrapolated from them. */
  replaySample: number;
  queryRuns: number;
}

export interface MembersResult {
  members: number;
  withdrawnInYear: number;
  withdrawnLastWeek: number;
  seedReadModelSeconds: number;
  seedStoreSeconds: number;
  readModelAll: LatencySummary;
  readModelFirstPage: LatencySummary;
  replaySample: number;
  replayPerMember: LatencySummary;
  replayExtrapolatedMs: number;
  sampleMatches: number;
}

const DAY_MS = 86_400_000;
const PAGE = 100; // ListMembersWithdrawnSince's largest page

interface SeedMember {
  id: string;
  registeredAt: Date;
  withdrawnAt?: Date;
}

function seedMembers(count: number, withdrawnShare: number, now: number): SeedMember[] {
  const members: SeedMember[] = [];
  for (let i = 0; i < count; i++) {
    const registeredAt = new Date(now - 400 * DAY_MS + i);
    // Every withdrawnShare-th member withdrew, at times spread evenly over the past year.
    const withdraws = Math.floor((i + 1) * withdrawnShare) > Math.floor(i * withdrawnShare);
    const withdrawnAt = withdraws ? new Date(now - ((i * 7919) % 365_000) * (DAY_MS / 1000) - 1000) : undefined;
    members.push({ id: randomUUID(), registeredAt, withdrawnAt });
  }
  return members;
}

/** Prisma's SQLite adapter stores DateTime as ISO-8601 text with an explicit offset. */
const prismaDate = (date: Date) => date.toISOString().replace("Z", "+00:00");

async function seedReadModel(url: string, file: string, members: SeedMember[]): Promise<void> {
  await migrateReadDb(url);
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  const columns = "(id, login_id, name, email, address, status, registered_at, updated_at, password_changed_at, withdrawn_at, revision)";
  const rowsPerInsert = 500;
  const insert = db.prepare(`INSERT INTO member ${columns} VALUES ${Array(rowsPerInsert).fill("(?,?,?,?,?,?,?,?,NULL,?,?)").join(",")}`);
  const insertOne = db.prepare(`INSERT INTO member ${columns} VALUES (?,?,?,?,?,?,?,?,NULL,?,?)`);
  const values = (m: SeedMember, n: number) => {
    const registered = prismaDate(m.registeredAt);
    return [m.id, `member_${n}`, `Member ${n}`, `member${n}@example.com`, `${n} Market St`, m.withdrawnAt ? MEMBER_STATUS.withdrawn : MEMBER_STATUS.active,
      registered, m.withdrawnAt ? prismaDate(m.withdrawnAt) : registered, m.withdrawnAt ? prismaDate(m.withdrawnAt) : null, m.withdrawnAt ? 1 : 0];
  };
  db.transaction(() => {
    let n = 0;
    for (; n + rowsPerInsert <= members.length; n += rowsPerInsert) {
      insert.run(members.slice(n, n + rowsPerInsert).flatMap((m, k) => values(m, n + k)));
    }
    for (; n < members.length; n++) insertOne.run(values(members[n]!, n));
  })();
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
}

/** Writes the members' events straight into a fresh store data file (the store is not running). */
function seedEventStore(dataFile: string, members: SeedMember[]): void {
  const db = openDatabase({ dataFile, synchronous: "NORMAL" });
  const table = new EventTable(db);
  const metadata = Buffer.from(JSON.stringify({ correlationId: randomUUID(), causationId: randomUUID() }));
  const created = nowTicks();
  let position = 0n;
  const row = (streamId: string, revision: bigint, type: string, data: unknown) => ({
    position: position++, streamId, revision, id: randomUUID(), type, contentType: "application/json",
    data: Buffer.from(JSON.stringify(data)), metadata, created,
  });
  // JSON written directly (toJson per event would dominate the seeding time); checked once below
  // against the contract's own JSON mapping.
  const registeredJson = (m: SeedMember, n: number) => ({
    memberId: m.id, loginId: `member_${n}`, name: `Member ${n}`, email: `member${n}@example.com`, address: `${n} Market St`,
    registeredAt: m.registeredAt.toISOString(),
  });
  const withdrawnJson = (m: SeedMember, at: Date) => ({ memberId: m.id, withdrawnAt: at.toISOString(), withdrawnBy: m.id });
  const first = members.find((m) => m.withdrawnAt);
  if (first) {
    const n = members.indexOf(first);
    const viaContract = [
      toJson(MemberRegisteredSchema, create(MemberRegisteredSchema, { ...registeredJson(first, n), registeredAt: timestampFromDate(first.registeredAt) })),
      toJson(MemberWithdrawnSchema, create(MemberWithdrawnSchema, { memberId: first.id, withdrawnAt: timestampFromDate(first.withdrawnAt!), withdrawnBy: first.id })),
    ];
    if (JSON.stringify(viaContract) !== JSON.stringify([registeredJson(first, n), withdrawnJson(first, first.withdrawnAt!)])) {
      throw new Error(`seed JSON differs from the contract's JSON mapping: ${JSON.stringify(viaContract)}`);
    }
  }
  table.transaction(() => {
    members.forEach((m, n) => {
      const stream = `member-${m.id}`;
      table.insert(row(stream, 0n, MemberRegisteredSchema.typeName, registeredJson(m, n)));
      if (m.withdrawnAt) table.insert(row(stream, 1n, MemberWithdrawnSchema.typeName, withdrawnJson(m, m.withdrawnAt)));
    });
  });
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
}

/**
 * The Member aggregate as the repository loads it, plus the time of its withdrawal: the
 * aggregate's state only says *whether* it withdrew, and the question needs *when*.
 */
type CheckedMember = { member: MemberState; withdrawnAt?: Timestamp };
const checkedMember: AggregateDefinition<CheckedMember, MemberCommand, MemberEvent> = {
  stream: MemberStream,
  events: memberEventMessages,
  decider: {
    initialState: () => ({ member: memberDecider.initialState() }),
    decide: () => [],
    evolve: (state, event) => ({
      member: memberDecider.evolve(state.member, event),
      withdrawnAt: event.$typeName === "eventmall.member.v1.MemberWithdrawn" ? (event as MemberWithdrawn).withdrawnAt : state.withdrawnAt,
    }),
  },
};

export async function runMembers(options: MembersOptions): Promise<MembersResult> {
  const now = Date.now();
  const since = new Date(now - 7 * DAY_MS);
  const members = seedMembers(options.members, options.withdrawnShare, now);
  const expectedLastWeek = members.filter((m) => m.withdrawnAt && m.withdrawnAt >= since).length;

  const readFile = path.join(options.dir, "read.db");
  let started = performance.now();
  await seedReadModel(`file:${readFile}`, readFile, members);
  const seedReadModelSeconds = (performance.now() - started) / 1000;

  const storeFile = path.join(options.dir, "members-store.db");
  started = performance.now();
  seedEventStore(storeFile, members);
  const seedStoreSeconds = (performance.now() - started) / 1000;

  const readDb = await openReadDb(`file:${readFile}`);
  const store = await startEventStoreProcess(storeFile);
  const client = EventStoreDBClient.connectionString(store.connectionString);
  try {
    // The query ListMembersWithdrawnSince runs (same filter, order and index), all rows at once and one page.
    const withdrawnSince = (take?: number) =>
      readDb.member.findMany({ where: { withdrawnAt: { gte: since } }, orderBy: [{ withdrawnAt: "asc" }, { id: "asc" }], take });
    const all = await withdrawnSince();
    if (all.length !== expectedLastWeek) throw new Error(`read model answered ${all.length} members, seeded ${expectedLastWeek}`);
    const readModelAll = await timeRuns(options.queryRuns, 3, () => withdrawnSince());
    const readModelFirstPage = await timeRuns(options.queryRuns, 3, () => withdrawnSince(PAGE + 1));

    const repository = new AggregateRepository(client, checkedMember, { snapshotEvery: 0, maxConflictRetries: 0 });
    // A random sample: a regular stride would line up with the seeding pattern (every 10th withdrew).
    const picked = new Set<number>();
    while (picked.size < Math.min(options.replaySample, members.length)) picked.add(Math.floor(Math.random() * members.length));
    const sample = [...picked].map((n) => members[n]!);
    let index = 0;
    let sampleMatches = 0;
    const replayPerMember = await timeRuns(sample.length, 0, async () => {
      const { state } = await repository.load(sample[index++]!.id);
      if (state.member.exists && state.member.withdrawn && state.withdrawnAt && timestampDate(state.withdrawnAt) >= since) sampleMatches++;
    });
    const expectedInSample = sample.filter((m) => m.withdrawnAt && m.withdrawnAt >= since).length;
    if (sampleMatches !== expectedInSample) throw new Error(`aggregate check found ${sampleMatches} in the sample, seeded ${expectedInSample}`);
    return {
      members: members.length,
      withdrawnInYear: members.filter((m) => m.withdrawnAt).length,
      withdrawnLastWeek: expectedLastWeek,
      seedReadModelSeconds,
      seedStoreSeconds,
      readModelAll,
      readModelFirstPage,
      replaySample: sample.length,
      replayPerMember,
      replayExtrapolatedMs: replayPerMember.meanMs * members.length,
      sampleMatches,
    };
  } finally {
    await client.dispose();
    await store.stop();
    await readDb.$disconnect();
  }
}
