// docker-compose.yml cannot run here (no Docker engine): check its structure instead. A 3-node
// KurrentDB cluster, PostgreSQL, two command and two projector replicas built from the
// Dockerfile, grpc.health.v1 health checks, and only settings the services actually read.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { EventStoreDBClient } from "@eventstore/db-client";
import { parse } from "yaml";
import { toEsdbConnectionString } from "../../src/kernel/process/connection-string";
import { configKeys } from "../support/config-keys";

const root = path.resolve(import.meta.dirname, "../..");

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
}

const compose = parse(readFileSync(path.join(root, "docker-compose.yml"), "utf8"), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const eventStoreNodes = ["esdb-1", "esdb-2", "esdb-3"];
const eventmallServices = ["migrate", "command", "projector", "query", "publisher"];

describe("docker-compose.yml", () => {
  it("has the cluster, PostgreSQL and the services", () => {
    expect(Object.keys(services).sort()).toEqual([...eventStoreNodes, "postgres", "nats", ...eventmallServices].sort());
  });

  it("runs a 3-node KurrentDB cluster that gossips with the other two nodes", () => {
    for (const name of eventStoreNodes) {
      const node = services[name]!;
      expect(node.environment?.KURRENTDB_CLUSTER_SIZE).toBe("3");
      const seeds = node.environment!.KURRENTDB_GOSSIP_SEED!.split(",");
      expect(seeds).toHaveLength(2);
      expect(node.healthcheck?.test.join(" ")).toContain("/health/live");
    }
  });

  it("runs KurrentDB's LTS image with KurrentDB's settings, the seeds being the other nodes' replication addresses", () => {
    const replicationIp = (name: string) => services[name]!.environment!.KURRENTDB_REPLICATION_IP!;
    for (const name of eventStoreNodes) {
      const node = services[name]!;
      // LTS releases are YY.0 (26.0, 27.0); YY.1 and later are short-term releases.
      expect(node.image).toMatch(/^(docker\.io\/)?kurrentplatform\/kurrentdb:\d{2}\.0(\.\d+)?$/);
      // KurrentDB reads KURRENTDB_*: an EVENTSTORE_* key would be a setting left from EventStoreDB.
      expect(Object.keys(node.environment!).filter((key) => !key.startsWith("KURRENTDB_"))).toEqual([]);
      expect(node.environment!.KURRENTDB_INSECURE).toBe("true");
      expect(node.environment!.KURRENTDB_ADVERTISE_HOST_TO_CLIENT_AS).toBe(name);
      const others = eventStoreNodes.filter((other) => other !== name).map((other) => `${replicationIp(other)}:2113`);
      expect(node.environment!.KURRENTDB_GOSSIP_SEED!.split(",").sort()).toEqual(others.sort());
      expect(node.volumes).toEqual([`${name}:/var/lib/kurrentdb`]);
    }
  });

  it("builds every eventmall service from the Dockerfile and runs the same entrypoints as npm scripts", () => {
    expect(existsSync(path.join(root, "Dockerfile"))).toBe(true);
    const packageJson = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
    for (const name of eventmallServices) {
      expect(services[name]!.build, name).toBe(".");
    }
    for (const name of ["command", "projector", "query", "publisher"]) {
      const entry = services[name]!.command!.at(-1)!;
      expect(entry).toBe(`services/${name}/main.ts`);
      expect(packageJson.scripts[`service:${name}`]).toContain(entry);
      expect(existsSync(path.join(root, entry))).toBe(true);
    }
  });

  it("runs two command replicas and two projector replicas", () => {
    expect(services.command!.deploy?.replicas).toBe(2);
    expect(services.projector!.deploy?.replicas).toBe(2);
    expect(services.query!.deploy?.replicas ?? 1).toBeGreaterThanOrEqual(1);
  });

  it("runs NATS with JetStream and points two publisher replicas at it", () => {
    expect(services.nats!.image).toMatch(/^nats:/);
    expect(services.nats!.command).toContain("-js");
    expect(services.publisher!.environment?.NATS_URL).toBe("nats://nats:4222");
    expect(services.publisher!.depends_on?.nats).toEqual({ condition: "service_healthy" });
    expect(services.publisher!.deploy?.replicas).toBe(2);
  });

  it("checks the services' health over grpc.health.v1 on the ports they listen on", () => {
    expect(existsSync(path.join(root, "scripts/healthcheck.ts"))).toBe(true);
    const ports: Record<string, string> = {
      command: services.command!.environment!.COMMAND_PORT!,
      query: services.query!.environment!.QUERY_PORT!,
      projector: services.projector!.environment!.PROJECTOR_HEALTH_PORT!,
    };
    for (const [name, port] of Object.entries(ports)) {
      expect(services[name]!.healthcheck?.test, name).toEqual(["CMD", "node", "--import", "tsx", "scripts/healthcheck.ts", port]);
    }
  });

  it("starts readers and writers after what they need", () => {
    const healthy = { condition: "service_healthy" };
    for (const name of ["command", "projector"]) {
      for (const node of eventStoreNodes) expect(services[name]!.depends_on?.[node], `${name} → ${node}`).toEqual(healthy);
    }
    expect(services.migrate!.depends_on?.postgres).toEqual(healthy);
    for (const name of ["projector", "query"]) {
      expect(services[name]!.depends_on?.migrate).toEqual({ condition: "service_completed_successfully" });
    }
  });

  it("points the services at the cluster and PostgreSQL, with only settings config.ts reads", () => {
    const known = new Set(configKeys());
    for (const name of eventmallServices) {
      const environment = services[name]!.environment!;
      for (const key of Object.keys(environment)) expect(known.has(key), `${name} sets ${key}, which no process reads`).toBe(true);
      expect(environment.READ_DATABASE_URL).toMatch(/^postgresql:\/\/[^@]+@postgres:5432\//);
      const connection = environment.EVENTSTORE_CONNECTION_STRING!;
      for (const node of eventStoreNodes) expect(connection).toContain(`${node}:2113`);
      expect(connection).toMatch(/^(kurrentdb|esdb):\/\//);
      expect(() => EventStoreDBClient.connectionString(toEsdbConnectionString(connection))).not.toThrow();
      expect(environment.EVENTMALL_HOST).toBe("0.0.0.0");
    }
  });
});
