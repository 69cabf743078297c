// A REAL full disk under the embedded store: a 4 MiB tmpfs holds its data file and a filler file;
// appends through the official client fill it until the store answers RESOURCE_EXHAUSTED (logged
// once), then deleting the filler frees space and appends succeed again by themselves, with every
// acknowledged event intact (and nothing of the refused ones), before and after a restart.
// Needs root (mount); skipped, saying why, where mounting is not permitted.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { status } from "@grpc/grpc-js";
import { EventStoreDBClient, jsonEvent } from "@eventstore/db-client";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { startService, type ServiceProcess } from "../support/processes";

const FILLER_BYTES = 1536 * 1024;
const EVENT_PAYLOAD_CHARS = 48 * 1024;
const MAX_APPENDS = 200;
const STREAM = "disk-full-check";

const mountPoint = mkdtempSync(path.join(tmpdir(), "eventstore-full-disk-"));
let mountError: string | undefined;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint], { stdio: "pipe" });
} catch (error) {
  mountError = error instanceof Error ? error.message.split("\n")[0] : String(error);
  console.warn(`disk-full test skipped: cannot mount a tmpfs here (needs root): ${mountError}`);
}
const dataFile = path.join(mountPoint, "events.db");
const filler = path.join(mountPoint, "filler");

const processes: ServiceProcess[] = [];
let client: EventStoreDBClient | undefined;

afterAll(async () => {
  await client?.dispose();
  await Promise.all(processes.map((p) => p.stop()));
  if (!mountError) execFileSync("umount", [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

async function startStore(): Promise<{ store: ServiceProcess; client: EventStoreDBClient }> {
  const store = startService("eventstore", { EVENTSTORE_PORT: "0" }, ["--data-file", dataFile]);
  processes.push(store);
  const [, connectionString] = await store.waitFor(/eventstore listening on (esdb:\/\/\S+)/);
  return { store, client: EventStoreDBClient.connectionString(connectionString!) };
}

const payload = () => ({ blob: randomBytes(EVENT_PAYLOAD_CHARS / 2).toString("hex") });

async function readAllData(reader: EventStoreDBClient): Promise<{ id: string; blob: string }[]> {
  const events = [];
  for await (const resolved of reader.readStream(STREAM)) {
    events.push({ id: resolved.event!.id, blob: (resolved.event!.data as { blob: string }).blob });
  }
  return events;
}

describe.skipIf(mountError !== undefined)("the embedded store on a full disk", () => {
  it("answers RESOURCE_EXHAUSTED, logs it once, and recovers by itself when space returns", async () => {
    writeFileSync(filler, randomBytes(FILLER_BYTES));
    const started = await startStore();
    client = started.client;
    const { store } = started;

    const acknowledged: { id: string; blob: string }[] = [];
    let refusal: { code?: number; message: string } | undefined;
    for (let i = 0; i < MAX_APPENDS && !refusal; i++) {
      const event = jsonEvent({ type: "Filled", data: payload() });
      try {
        await client.appendToStream(STREAM, event);
        acknowledged.push({ id: event.id, blob: event.data.blob });
      } catch (error) {
        refusal = error as { code?: number; message: string };
      }
    }
    expect(refusal, `the disk never filled after ${MAX_APPENDS} appends`).toBeDefined();
    expect(refusal!.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refusal!.message).toContain("out of disk space");
    expect(acknowledged.length).toBeGreaterThan(0);

    // The episode goes on: more refusals, still one log line; reads keep working.
    for (let i = 0; i < 3; i++) {
      const error = await client.appendToStream(STREAM, jsonEvent({ type: "Filled", data: payload() })).catch((e: { code?: number }) => e);
      expect((error as { code?: number }).code).toBe(status.RESOURCE_EXHAUSTED);
    }
    expect(await readAllData(client)).toEqual(acknowledged);
    await store.waitFor(/ERROR disk full/, 10_000);

    rmSync(filler);
    const after = jsonEvent({ type: "Filled", data: payload() });
    await client.appendToStream(STREAM, after);
    acknowledged.push({ id: after.id, blob: after.data.blob });
    await store.waitFor(/disk space available again/, 10_000);
    // stderr is ordered: every line of the episode came before the recovery line.
    expect(store.lines.filter((line) => line.includes("ERROR disk full"))).toHaveLength(1);
    expect(store.lines.join("\n")).not.toMatch(/^\s+at /m);
    expect(await readAllData(client)).toEqual(acknowledged);

    // Nothing corrupt: the file passes SQLite's integrity check and a restarted store reads it all.
    await client.dispose();
    client = undefined;
    expect(await store.stop()).toBe(0);
    const db = new Database(dataFile, { readonly: true });
    try {
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    } finally {
      db.close();
    }
    const restarted = await startStore();
    client = restarted.client;
    expect(await readAllData(client)).toEqual(acknowledged);
  }, 120_000);
});
