// Durability (embedded store only): every append acknowledged before `kill -9` of the server process
// is there after a restart on the same data file.
import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EventStoreDBClient } from "@eventstore/db-client";
import { collect, events, external } from "./helpers";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** Starts `services/eventstore/main.ts --port 0` and reads the chosen port from its stdout. */
function startProcess(dataFile: string): Promise<{ child: ChildProcess; connectionString: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "services/eventstore/main.ts", "--port", "0", "--data-file", dataFile], {
    cwd: path.resolve(import.meta.dirname, "../.."),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (\S+) port=(\d+)/.exec(output);
      if (match) resolve({ child, connectionString: match[1]! });
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", (code) => reject(new Error(`eventstore exited with ${code}: ${output}`)));
  });
}

describe.skipIf(external)("durability", () => {
  it("keeps every acknowledged append across kill -9", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "eventstore-durability-"));
    const dataFile = path.join(dir, "store.db");
    try {
      const first = await startProcess(dataFile);
      const client = EventStoreDBClient.connectionString(first.connectionString);
      const acked = new Map<string, string>();
      let stop = false;
      const writers = Array.from({ length: 16 }, async (_, writer) => {
        const stream = `durable-${writer}`;
        while (!stop) {
          const batch = events(2);
          try {
            await client.appendToStream(stream, batch);
          } catch {
            return; // the server is gone; this append was never acknowledged
          }
          for (const event of batch) acked.set(event.id!, stream);
        }
      });
      while (acked.size < 600) await new Promise((resolve) => setTimeout(resolve, 5));
      first.child.kill("SIGKILL");
      stop = true;
      await Promise.all(writers);
      await client.dispose().catch(() => {});
      const ackedAtKill = new Map(acked);

      const second = await startProcess(dataFile);
      const reader = EventStoreDBClient.connectionString(second.connectionString);
      try {
        const found = new Map<string, string>();
        for (let writer = 0; writer < 16; writer += 1) {
          const read = await collect(reader.readStream(`durable-${writer}`));
          expect(read.map((e) => e.event!.revision)).toEqual(read.map((_, i) => BigInt(i)));
          for (const entry of read) found.set(entry.event!.id, entry.event!.streamId);
        }
        for (const [id, stream] of ackedAtKill) expect(found.get(id), `acked event ${id}`).toBe(stream);
        const appended = await reader.appendToStream("durable-0", events(1));
        expect(appended.success).toBe(true);
      } finally {
        await reader.dispose();
        second.child.kill("SIGTERM");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
