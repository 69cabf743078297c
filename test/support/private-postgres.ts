// A PostgreSQL server of a test's own (Debian's binaries: initdb + pg_ctl into a temp folder, on
// a free port), so a fault test can stop and start it without disturbing the shared server the
// rest of the suite uses. PostgreSQL refuses to run as root: when we are root, the server runs as
// the `postgres` system user.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./service-set";

const run = promisify(execFile);

export interface PrivatePostgres {
  /** postgresql://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** `pg_ctl stop -m fast`: sessions are cut, as in a routine restart. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server (if running) and removes its folder. */
  destroy(): Promise<void>;
}

/** The newest PostgreSQL major's bin folder (Debian: /usr/lib/postgresql/<major>/bin), or undefined. */
export async function postgresBinDir(): Promise<string | undefined> {
  const root = "/usr/lib/postgresql";
  const majors = await fs.readdir(root).catch(() => [] as string[]);
  const sorted = majors.filter((m) => /^\d+$/.test(m)).sort((a, b) => Number(b) - Number(a));
  for (const major of sorted) {
    const bin = path.join(root, major, "bin");
    if (await fs.access(path.join(bin, "pg_ctl")).then(() => true, () => false)) return bin;
  }
  return undefined;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = await postgresBinDir();
  if (!bin) throw new Error("no PostgreSQL binaries under /usr/lib/postgresql (apt-get install postgresql)");
  const asRoot = process.getuid?.() === 0;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "eventmall-pg-"));
  const dataDir = path.join(dir, "data");
  const port = await freePort();
  if (asRoot) await run("chown", ["-R", "postgres:postgres", dir]);
  const pgCommand = (tool: string, args: string[]) =>
    asRoot ? run("runuser", ["-u", "postgres", "--", path.join(bin, tool), ...args]) : run(path.join(bin, tool), args);
  await pgCommand("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  const start = async () => {
    await pgCommand("pg_ctl", ["-D", dataDir, "-o", options, "-l", path.join(dir, "server.log"), "-w", "-t", "30", "start"]);
  };
  const stop = async () => {
    await pgCommand("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "-t", "30", "stop"]);
  };
  await start();
  let running = true;
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await stop();
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async destroy() {
      if (running) await stop().catch(() => undefined);
      running = false;
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
