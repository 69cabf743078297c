// Network exposure: the embedded store (no authentication) listens on loopback unless told
// otherwise on purpose, whatever EVENTMALL_HOST says; the services warn when they serve plaintext
// beyond loopback. Real processes; reachability is checked through a non-loopback interface.
import net from "node:net";
import os from "node:os";
import { EventStoreDBClient, jsonEvent } from "@eventstore/db-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/kernel/process/config";
import { openStore, type StoreUnderTest } from "../eventstore/harness";
import { startService, type ServiceProcess } from "../support/processes";

const STORE = { EVENTSTORE_PORT: "0", EVENTSTORE_IN_MEMORY: "true" };
const LISTENING = /eventstore listening on (esdb:\/\/\S+) port=(\d+)/;

/** An IPv4 address of this machine other than loopback (undefined when it has none). */
const externalAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((address) => address && address.family === "IPv4" && !address.internal)?.address;

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(3000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const started: ServiceProcess[] = [];
function start(...args: Parameters<typeof startService>): ServiceProcess {
  const service = startService(...args);
  started.push(service);
  return service;
}

afterAll(async () => {
  await Promise.all(started.map((service) => service.stop()));
});

describe("the embedded store's listen address", () => {
  it("refuses a wildcard address without EVENTSTORE_INSECURE_BIND_ANY: one clear line, exit code 2, no stack trace", async () => {
    const store = start("eventstore", { ...STORE, EVENTSTORE_HOST: "0.0.0.0" });
    expect(await store.exited).toBe(2);
    const output = store.lines.join("\n");
    expect(output).toContain("refusing to listen on 0.0.0.0");
    expect(output).toContain("EVENTSTORE_INSECURE_BIND_ANY=true");
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).not.toContain("listening on");
  }, 60_000);

  it("refuses a non-loopback --host flag the same way", async () => {
    const store = start("eventstore", { ...STORE }, ["--host", "::"]);
    expect(await store.exited).toBe(2);
    expect(store.lines.join("\n")).toContain("refusing to listen on ::");
  }, 60_000);

  it("listens on every interface with EVENTSTORE_INSECURE_BIND_ANY=true, warns, and prints a dialable connection string", async () => {
    const store = start("eventstore", { ...STORE, EVENTSTORE_HOST: "0.0.0.0", EVENTSTORE_INSECURE_BIND_ANY: "true" });
    const [, connectionString, port] = await store.waitFor(LISTENING);
    expect(connectionString).toBe(`esdb://127.0.0.1:${port}?tls=false`);
    await store.waitFor(/WARNING: listening on 0\.0\.0\.0 without authentication/);
    const client = EventStoreDBClient.connectionString(connectionString!);
    try {
      await client.appendToStream("exposure-check", jsonEvent({ type: "Checked", data: {} }));
    } finally {
      await client.dispose();
    }
    if (externalAddress) expect(await connects(externalAddress, Number(port))).toBe(true);
  }, 60_000);

  it("stays on 127.0.0.1 when only EVENTMALL_HOST=0.0.0.0 is set", async () => {
    const store = start("eventstore", { ...STORE, EVENTMALL_HOST: "0.0.0.0" });
    const [, connectionString, port] = await store.waitFor(LISTENING);
    expect(connectionString).toBe(`esdb://127.0.0.1:${port}?tls=false`);
    expect(await connects("127.0.0.1", Number(port))).toBe(true);
    if (!externalAddress) console.warn("no non-loopback IPv4 interface: cannot prove the store is unreachable from outside");
    else expect(await connects(externalAddress, Number(port))).toBe(false);
    expect(store.lines.join("\n")).not.toContain("WARNING");
  }, 60_000);
});

describe("plaintext beyond loopback", () => {
  let store: StoreUnderTest;
  beforeAll(async () => {
    store = await openStore();
  });
  afterAll(async () => {
    await store?.close();
  });

  const commandService = (host: Record<string, string>) =>
    start("command", { ...host, COMMAND_PORT: "0", COMMAND_CONTEXTS: "product", EVENTSTORE_CONNECTION_STRING: store.connectionString, AUTH_TOKEN_SECRET: "x".repeat(32) });
  // The logger's own "listening" record: it comes after anything the same logger wrote while
  // starting (the plain "listening on" line on stdout may overtake pino's buffered output).
  const loggedListening = (service: ServiceProcess) => service.waitFor(/"msg":"listening"/);
  const plaintextWarnings = (service: ServiceProcess) =>
    service.records().filter((record) => record.level === 40 && String(record.msg).includes("plaintext gRPC beyond loopback"));

  it("the command service warns at start when it serves plaintext on 0.0.0.0", async () => {
    const command = commandService({ EVENTMALL_HOST: "0.0.0.0" });
    await loggedListening(command);
    expect(plaintextWarnings(command), command.lines.join("\n")).toEqual([expect.objectContaining({ host: "0.0.0.0" })]);
  }, 60_000);

  it("and does not on loopback", async () => {
    const command = commandService({});
    await loggedListening(command);
    expect(plaintextWarnings(command)).toEqual([]);
  }, 60_000);
});

describe("the default store connection string", () => {
  const withEnv = (values: Record<string, string>) => {
    const saved = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
    Object.assign(process.env, values);
    try {
      return loadConfig().eventStore;
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  };

  it("follows EVENTSTORE_HOST, dialling loopback when the store binds a wildcard, and ignores EVENTMALL_HOST", () => {
    const base = { EVENTSTORE_CONNECTION_STRING: "", EVENTSTORE_PORT: "2113", EVENTSTORE_HOST: "" };
    expect(withEnv({ ...base, EVENTMALL_HOST: "0.0.0.0" })).toMatchObject({ host: "127.0.0.1", connectionString: "esdb://127.0.0.1:2113?tls=false" });
    expect(withEnv({ ...base, EVENTSTORE_HOST: "0.0.0.0" }).connectionString).toBe("esdb://127.0.0.1:2113?tls=false");
    expect(withEnv({ ...base, EVENTSTORE_HOST: "::" }).connectionString).toBe("esdb://[::1]:2113?tls=false");
    expect(withEnv({ ...base, EVENTSTORE_HOST: "10.1.2.3" }).connectionString).toBe("esdb://10.1.2.3:2113?tls=false");
  });
});
