// `npm start` runs the publisher exactly when NATS_URL is set, and its ready line matches the real process.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startSupervisor } from "../../src/kernel/process/supervisor";
import { eventmallProcesses, processesFor, publisherProcess } from "../../scripts/start";
import { jetStreamFixture, NATS_URL } from "./fixtures";

describe("npm start and the publisher", () => {
  it("supervises a publisher only when NATS_URL is set", () => {
    expect(processesFor({}).map((p) => p.name)).not.toContain("publisher");
    expect(processesFor({ NATS_URL }).map((p) => p.name)).toEqual([...eventmallProcesses.map((p) => p.name), "publisher"]);
  });

  it("starts the publisher after the store and sees it ready", async () => {
    const fixture = await jetStreamFixture();
    const eventstore = { ...eventmallProcesses[0]!, args: [...eventmallProcesses[0]!.args, "--port", "0", "--in-memory"] };
    const lines: string[] = [];
    const env = { ...process.env, ...fixture.env(""), EVENTSTORE_CONNECTION_STRING: "", DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "eventmall-start-")) };
    const supervisor = await startSupervisor({ children: [eventstore, publisherProcess], env, output: (line) => lines.push(line), readyTimeoutMs: 20_000 });
    try {
      expect(Object.keys(supervisor.addresses)).toEqual(["eventstore", "publisher"]);
      await expect.poll(() => lines.some((line) => line.includes('"msg":"publisher started"')), { timeout: 10_000 }).toBe(true);
    } finally {
      await supervisor.stop();
      await fixture.dispose();
      rmSync(env.DATA_DIR, { recursive: true, force: true });
    }
  });
});
