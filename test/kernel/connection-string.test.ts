import { EventStoreDBClient } from "@eventstore/db-client";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/kernel/process/config";
import { toEsdbConnectionString } from "../../src/kernel/process/connection-string";

describe("EVENTSTORE_CONNECTION_STRING schemes", () => {
  const saved = process.env.EVENTSTORE_CONNECTION_STRING;
  afterEach(() => {
    if (saved === undefined) delete process.env.EVENTSTORE_CONNECTION_STRING;
    else process.env.EVENTSTORE_CONNECTION_STRING = saved;
  });

  it("passes esdb:// and esdb+discover:// through unchanged", () => {
    for (const value of ["esdb://a:2113,b:2113?tls=false&nodePreference=leader", "esdb+discover://cluster.example:2113"]) {
      expect(toEsdbConnectionString(value)).toBe(value);
    }
  });

  it("rewrites KurrentDB's schemes to esdb:// and keeps hosts, credentials and options", () => {
    expect(toEsdbConnectionString("kurrentdb://admin:changeit@a:2113,b:2113?tls=false&nodePreference=leader")).toBe(
      "esdb://admin:changeit@a:2113,b:2113?tls=false&nodePreference=leader",
    );
    expect(toEsdbConnectionString("kurrentdb+discover://cluster.example:2113?tls=true")).toBe("esdb+discover://cluster.example:2113?tls=true");
    expect(toEsdbConnectionString("kdb://a:2113")).toBe("esdb://a:2113");
    expect(toEsdbConnectionString("KURRENT+DISCOVER://a:2113")).toBe("esdb+discover://a:2113");
  });

  it("leaves other schemes for the client to reject with its own message", () => {
    expect(toEsdbConnectionString("http://a:2113")).toBe("http://a:2113");
    expect(toEsdbConnectionString("xkurrentdb://a:2113")).toBe("xkurrentdb://a:2113");
  });

  it("gives the services a string @eventstore/db-client accepts when the setting uses kurrentdb://", () => {
    process.env.EVENTSTORE_CONNECTION_STRING = "kurrentdb://node-1:2113,node-2:2113?tls=false&nodePreference=leader";
    const { connectionString } = loadConfig().eventStore;
    expect(connectionString).toBe("esdb://node-1:2113,node-2:2113?tls=false&nodePreference=leader");
    expect(() => EventStoreDBClient.connectionString(connectionString)).not.toThrow();
    expect(() => EventStoreDBClient.connectionString(process.env.EVENTSTORE_CONNECTION_STRING!)).toThrow(/esdb:\/\//);
  });
});
