// Secure mode (embedded store only; it generates its own certificate): TLS from certificate files,
// basic authentication of admin and ops with configured passwords, AccessDenied for bad or missing
// credentials, the authenticated user reported in persistent-subscription connections, and no
// start without passwords.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessDeniedError, EventStoreDBClient, START, persistentSubscriptionToStreamSettingsFromDefaults as streamSettings } from "@eventstore/db-client";
import { startEventStore, type RunningEventStore } from "../../services/eventstore/server";
import { InvalidSecurityConfiguration } from "../../services/eventstore/security";
import { uniqueStream } from "./harness";
import { collect, events, external, failureOfPromise } from "./helpers";
import { Inbox, eventually, uniqueGroup } from "./persistent-support";

const ADMIN_PASSWORD = "admin-secret-1";
let dir: string;
let certificateFile: string;
let certificatePrivateKeyFile: string;
let store: RunningEventStore;
const clients: EventStoreDBClient[] = [];

describe.skipIf(external)("secure mode", () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "eventstore-secure-"));
    certificateFile = path.join(dir, "node.crt");
    certificatePrivateKeyFile = path.join(dir, "node.key");
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout", certificatePrivateKeyFile, "-out", certificateFile,
    ], { stdio: "ignore" });
    store = await startEventStore({
      inMemory: true,
      security: { certificateFile, certificatePrivateKeyFile, adminPassword: ADMIN_PASSWORD, opsPassword: "ops-secret-1" },
    });
  });
  afterAll(async () => {
    for (const made of clients) await made.dispose();
    await store?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const connect = (userInfo = "") =>
    EventStoreDBClient.connectionString(`esdb://${userInfo}localhost:${store.port}?tls=true&tlsCAFile=${certificateFile}`);

  it("serves TLS with the configured certificate and lets admin and ops append and read", async () => {
    expect(store.connectionString).toContain("tls=true");
    for (const userInfo of [`admin:${ADMIN_PASSWORD}@`, "ops:ops-secret-1@"]) {
      const made = connect(userInfo);
      clients.push(made);
      const stream = uniqueStream("secure");
      await made.appendToStream(stream, events(2));
      expect(await collect(made.readStream(stream))).toHaveLength(2);
    }
  });

  it("answers a wrong password, an unknown user and missing credentials with AccessDenied", async () => {
    for (const userInfo of ["admin:wrong@", "AzureDiamond:hunter2@", ""]) {
      const made = connect(userInfo);
      clients.push(made);
      expect(await failureOfPromise(made.appendToStream(uniqueStream("denied"), events(1)))).toBeInstanceOf(AccessDeniedError);
    }
  });

  it("reports the authenticated user of a persistent-subscription connection", async () => {
    const made = connect(`admin:${ADMIN_PASSWORD}@`);
    clients.push(made);
    const stream = uniqueStream("secure-ps");
    const group = uniqueGroup();
    await made.createPersistentSubscriptionToStream(stream, group, streamSettings({ startFrom: START }));
    const inbox = new Inbox(made.subscribeToPersistentSubscriptionToStream(stream, group));
    try {
      await inbox.confirmed;
      const info = await eventually(async () => {
        const current = await made.getPersistentSubscriptionToStreamInfo(stream, group);
        return current.connections.length > 0 ? current : undefined;
      }, "a connection");
      expect(info.connections[0]!.username).toBe("admin");
    } finally {
      await inbox.subscription.unsubscribe();
    }
  });

  it("does not start without the users' passwords (no default password in secure mode)", async () => {
    await expect(
      startEventStore({ inMemory: true, security: { certificateFile, certificatePrivateKeyFile, adminPassword: "", opsPassword: "x" } }),
    ).rejects.toBeInstanceOf(InvalidSecurityConfiguration);
  });
});
