// Starts the whole suite (same code path as `npm start`) on free ports in a temp data dir.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { ADMIN_ROLE, createTokenService } from "../../src/kernel/auth/auth";
import type { Supervisor } from "../../src/kernel/process/supervisor";
import { startEventmall } from "../../scripts/start";

export interface RunningSuite {
  commandUrl: string;
  queryUrl: string;
  eventStoreConnectionString: string;
  /** An operator token (role admin) signed with the suite's secret, for product management. */
  adminToken: string;
  /** The environment the processes run with (DATA_DIR, ...): for running CLIs against this installation. */
  env: NodeJS.ProcessEnv;
  /** Every line the processes printed, for failure diagnostics. */
  output: string[];
  stop(): Promise<void>;
}

// Settings that would point the suite at someone else's files or servers.
const INHERITED_SETTINGS_TO_DROP = [
  "READ_DATABASE_URL",
  "CREDENTIALS_DATABASE_URL",
  "EVENTSTORE_DATA_FILE",
  "EVENTSTORE_IN_MEMORY",
  "EVENTSTORE_CONNECTION_STRING",
  "EVENTSTORE_HOST",
];

/** `settings` override the suite's environment; an undefined value removes the variable. */
export async function startSuite(settings: Record<string, string | undefined> = {}): Promise<RunningSuite> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "eventmall-e2e-"));
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, EVENTSTORE_PORT: "0", COMMAND_PORT: "0", QUERY_PORT: "0" };
  for (const name of INHERITED_SETTINGS_TO_DROP) delete env[name];
  env.AUTH_TOKEN_SECRET = randomBytes(32).toString("base64url");
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const output: string[] = [];
  let supervisor: Supervisor;
  try {
    supervisor = await startEventmall({ env, output: (line) => output.push(line), readyTimeoutMs: 90_000 });
  } catch (error) {
    await fs.rm(dataDir, { recursive: true, force: true });
    throw new Error(`suite failed to start: ${String(error)}\n${output.slice(-40).join("\n")}`);
  }
  // The installation's secret: AUTH_TOKEN_SECRET, else the file the processes created in DATA_DIR.
  const tokens = createTokenService({ dataDir, auth: { tokenSecret: env.AUTH_TOKEN_SECRET ?? "", tokenTtlSeconds: 3600 } });
  const { token: adminToken } = await tokens.issue({ subject: "e2e-operator", roles: [ADMIN_ROLE] });
  return {
    env,
    commandUrl: supervisor.addresses.command!,
    queryUrl: supervisor.addresses.query!,
    eventStoreConnectionString: supervisor.addresses.eventstore!,
    adminToken,
    output,
    async stop() {
      await supervisor.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Calls `attempt` until it returns a value (not undefined) or the time is up. */
export async function pollUntil<T>(attempt: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; last error: ${String(lastError)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
