// Gossip.Read: a one-node cluster whose only member is this node, alive and Leader, at the address
// the node advertises to clients. Clients that discover (esdb+discover://, several hosts in the
// connection string, `endpoints`/`discover` settings) read this and then connect to that address.
import { gossipGrpc, gossipPb, sharedPb } from "./proto";
import type { RegisteredService } from "./server-features";

export interface AdvertisedEndpoint {
  host: string;
  /** Read at call time: the port is known only once the server is bound. */
  port(): number;
}

/** `instanceId`: one per process, as EventStoreDB keeps one per node lifetime (its epochs name it too). */
export function gossipService(advertised: AdvertisedEndpoint, instanceId: string): RegisteredService {
  const id = new sharedPb.UUID().setString(instanceId);
  return {
    definition: gossipGrpc.GossipService,
    implementation: {
      read: (_call: unknown, callback: (error: null, value: unknown) => void) => {
        const member = new gossipPb.MemberInfo()
          .setInstanceId(id)
          .setTimeStamp(String(Date.now() * 10_000))
          .setState(gossipPb.MemberInfo.VNodeState.LEADER)
          .setIsAlive(true)
          .setHttpEndPoint(new gossipPb.EndPoint().setAddress(advertised.host).setPort(advertised.port()));
        callback(null, new gossipPb.ClusterInfo().setMembersList([member]));
      },
    },
  };
}
