// Conformance: discovery. A single node answers Gossip.Read with itself as the alive Leader, so the
// connection strings EventStoreDB's docs hand out (esdb+discover://, several hosts) work against it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentials, Metadata } from "@grpc/grpc-js";
import { EventStoreDBClient } from "@eventstore/db-client";
import { GossipClient } from "@eventstore/db-client/generated/gossip_grpc_pb";
import { MemberInfo, type ClusterInfo } from "@eventstore/db-client/generated/gossip_pb";
import { Empty } from "@eventstore/db-client/generated/shared_pb";
import { openStore, uniqueStream, type StoreUnderTest } from "./harness";
import { collect, events } from "./helpers";

let store: StoreUnderTest;
let hostPort: string;
let query: string;
beforeAll(async () => {
  store = await openStore();
  const url = new URL(store.connectionString.replace(/^esdb(\+discover)?:/, "http:"));
  hostPort = url.host.split(",")[0]!;
  query = url.search;
});
afterAll(async () => {
  await store?.close();
});

function readGossip(): Promise<ClusterInfo> {
  const client = new GossipClient(hostPort, credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.read(new Empty(), new Metadata(), { deadline: Date.now() + 5000 }, (error, info) => {
      client.close();
      error ? reject(error) : resolve(info!);
    }),
  );
}

describe("Gossip.Read", () => {
  it("lists a live leader with an instance id and an address clients can dial", async () => {
    const members = (await readGossip()).getMembersList();
    const leaders = members.filter((m) => m.getState() === MemberInfo.VNodeState.LEADER && m.getIsAlive());
    expect(leaders).toHaveLength(1);
    const leader = leaders[0]!;
    expect(leader.getInstanceId()?.getString() || leader.getInstanceId()?.hasStructured()).toBeTruthy();
    expect(leader.getHttpEndPoint()?.getAddress()).not.toBe("");
    expect(leader.getHttpEndPoint()?.getPort()).toBeGreaterThan(0);
  });

  it("keeps the instance id across calls", async () => {
    const id = async () => (await readGossip()).getMembersList()[0]!.getInstanceId()!.getString();
    expect(await id()).toBe(await id());
  });
});

describe("connecting through discovery", () => {
  async function roundTrip(connectionString: string) {
    const client = EventStoreDBClient.connectionString(connectionString);
    try {
      const stream = uniqueStream("discovered");
      await client.appendToStream(stream, events(2), { expectedRevision: "no_stream" });
      expect(await collect(client.readStream(stream))).toHaveLength(2);
    } finally {
      await client.dispose();
    }
  }

  it("esdb+discover:// finds the leader and appends and reads through it", async () => {
    await roundTrip(`esdb+discover://${hostPort}${query}`);
  });

  it("a connection string with several hosts (the same node listed twice) discovers the leader", async () => {
    await roundTrip(`esdb://${hostPort},${hostPort}${query}&nodePreference=leader`);
  });

  it("the endpoints setting with a leader preference discovers it", async () => {
    const [address, port] = [hostPort.slice(0, hostPort.lastIndexOf(":")), Number(hostPort.slice(hostPort.lastIndexOf(":") + 1))];
    const client = new EventStoreDBClient({ endpoints: [{ address, port }], nodePreference: "leader" }, { insecure: !query.includes("tls=true") });
    try {
      const stream = uniqueStream("endpoints");
      const result = await client.appendToStream(stream, events(1));
      expect(result.success).toBe(true);
    } finally {
      await client.dispose();
    }
  });
});
