// The SQLite event log itself (embedded store internals): group commit, in-order checks within a
// group, and reopening a data file.
import { afterEach, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openSqliteEventLog } from "../../services/eventstore/sqlite-log";
import type { ProposedEvent, StoredEvent } from "../../services/eventstore/log";
import { FIRST_EVENT_POSITION, positionAfter } from "../../services/eventstore/log-positions";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "eventlog-"));
  dirs.push(dir);
  return path.join(dir, "log.db");
}

function proposed(type = "Happened"): ProposedEvent {
  return { id: randomUUID(), type, contentType: "application/json", data: Buffer.from("{}"), metadata: new Uint8Array(0) };
}

describe("SQLite event log", () => {
  it("commits appends queued in the same tick as one group, announced once, in position order", async () => {
    const log = openSqliteEventLog({ dataFile: tempFile() });
    const commits: StoredEvent[][] = [];
    log.onCommitted((events) => commits.push(events));
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(`s-${i % 5}`, { kind: "any" }, [proposed()])));
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(commits).toHaveLength(1);
    const positions = commits[0]!.map((event) => event.position);
    expect(positions).toEqual([...positions].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(positions).size).toBe(50);
    await log.close();
  });

  it("checks each append of a group against the ones before it", async () => {
    const log = openSqliteEventLog({ inMemory: true });
    const [first, second, third] = await Promise.all([
      log.append("s", { kind: "no_stream" }, [proposed()]),
      log.append("s", { kind: "no_stream" }, [proposed()]),
      log.append("s", { kind: "exact", revision: 0n }, [proposed()]),
    ]);
    expect(first).toMatchObject({ ok: true, revision: 0n });
    expect(second).toEqual({ ok: false, reason: "wrong_expected_version", currentRevision: 0n });
    expect(third).toMatchObject({ ok: true, revision: 1n });
    await log.close();
  });

  it("reopens a data file with its streams, tombstones and positions", async () => {
    const file = tempFile();
    const before = openSqliteEventLog({ dataFile: file });
    await before.append("kept", { kind: "no_stream" }, [proposed(), proposed()]);
    await before.append("gone", { kind: "no_stream" }, [proposed()]);
    await before.deleteStream("gone", { kind: "any" }, true);
    const lastPosition = before.lastPosition();
    await before.close();

    const after = openSqliteEventLog({ dataFile: file });
    expect(after.lastPosition()).toBe(lastPosition);
    expect(after.streamRevision("kept")).toBe(1n);
    expect(after.readStream("gone", { from: "start", direction: "forwards", maxCount: 10n })).toEqual({ kind: "deleted" });
    const [tombstone] = after.readAll({ from: "end", direction: "backwards", maxCount: 1n }).events;
    expect(tombstone!.event.position).toBe(lastPosition);
    const next = await after.append("kept", { kind: "exact", revision: 1n }, [proposed()]);
    expect(next).toMatchObject({ ok: true, revision: 2n, position: positionAfter(tombstone!.event) });
    await after.close();
  });

  it("places events as EventStoreDB does: after the epoch record, each after the previous record's bytes", async () => {
    const log = openSqliteEventLog({ inMemory: true });
    await log.append("first", { kind: "no_stream" }, [proposed(), proposed("Other")]);
    const { events } = log.readAll({ from: "start", direction: "forwards", maxCount: 10n });
    const [a, b] = events.map((entry) => entry.event);
    expect(a!.position).toBe(FIRST_EVENT_POSITION);
    expect(FIRST_EVENT_POSITION).toBeGreaterThan(0n);
    // 88 bytes of prepare record around the stream name ("first", 1 + 5), type (1 + 8) and data ("{}", 2).
    expect(b!.position - a!.position).toBe(88n + 6n + 9n + 2n);
    expect(log.lastPosition()).toBe(b!.position);
    await log.close();
  });
});
