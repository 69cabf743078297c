// The PersistentSubscriptions gRPC service: request decoding, status mapping, and the
// Read call's life as a consumer of a group.
import { userNameOf } from "../security";
import * as grpc from "@grpc/grpc-js";
import { randomUUID } from "node:crypto";
import { confirmationResponse, subscriptionInfo } from "./codec";
import type { Consumer, ConsumerConnection } from "./consumers";
import { invalidArgument, subscriptionDoesNotExist, toRpcError, type RpcError } from "./errors";
import type { NackAction, SubscriptionGroup } from "./group";
import { ALL_STREAM, configFromCreate, configFromUpdate, groupKey } from "./settings";
import { encodeEventResponse } from "./read-encoding";
import type { PersistentSubscriptionSubsystem } from "./subsystem";
import {
  persistentPb,
  sharedPb,
  streamNameOf,
  type CreateReq,
  type DeleteReq,
  type GetInfoReq,
  type ListReq,
  type ReadReq,
  type ReadResp,
  type ReplayParkedReq,
  type UpdateReq,
} from "./stubs";

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

function unary<Req, Res>(handle: (request: Req) => Promise<Res>): Unary<Req, Res> {
  return (call, callback) => {
    handle(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toRpcError(error)),
    );
  };
}

function uuidText(uuid: InstanceType<typeof sharedPb.UUID>): string | undefined {
  if (uuid.hasString()) return uuid.getString().toLowerCase();
  const structured = uuid.getStructured();
  if (!structured) return undefined;
  const hex =
    BigInt.asUintN(64, BigInt(structured.getMostSignificantBits())).toString(16).padStart(16, "0") +
    BigInt.asUintN(64, BigInt(structured.getLeastSignificantBits())).toString(16).padStart(16, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const idsOf = (uuids: InstanceType<typeof sharedPb.UUID>[]) => uuids.map(uuidText).filter((id): id is string => !!id);

function nackAction(action: number): NackAction {
  const Action = persistentPb.ReadReq.Nack.Action;
  switch (action) {
    case Action.PARK:
      return "park";
    case Action.RETRY:
      return "retry";
    case Action.SKIP:
      return "skip";
    case Action.STOP:
      return "stop";
    default:
      return "unknown";
  }
}

/** Stream name of a request whose stream option is either a StreamIdentifier or $all. */
function targetStream(options: { hasAll(): boolean; getStreamIdentifier(): Parameters<typeof streamNameOf>[0] }): string {
  if (options.hasAll()) return ALL_STREAM;
  const stream = streamNameOf(options.getStreamIdentifier());
  if (!stream) throw invalidArgument("Stream name must not be empty.");
  return stream;
}

export function persistentSubscriptionsHandlers(subsystem: PersistentSubscriptionSubsystem): grpc.UntypedServiceImplementation {
  return {
    create: unary<CreateReq, InstanceType<typeof persistentPb.CreateResp>>(async (request) => {
      await subsystem.create(configFromCreate(request));
      return new persistentPb.CreateResp();
    }),

    update: unary<UpdateReq, InstanceType<typeof persistentPb.UpdateResp>>(async (request) => {
      await subsystem.update(configFromUpdate(request));
      return new persistentPb.UpdateResp();
    }),

    delete: unary<DeleteReq, InstanceType<typeof persistentPb.DeleteResp>>(async (request) => {
      const options = request.getOptions();
      if (!options) throw invalidArgument("DeleteReq.options is required.");
      await subsystem.delete(targetStream(options), options.getGroupName());
      return new persistentPb.DeleteResp();
    }),

    getInfo: unary<GetInfoReq, InstanceType<typeof persistentPb.GetInfoResp>>(async (request) => {
      const options = request.getOptions();
      if (!options) throw invalidArgument("GetInfoReq.options is required.");
      const group = subsystem.get(targetStream(options), options.getGroupName());
      const response = new persistentPb.GetInfoResp();
      response.setSubscriptionInfo(subscriptionInfo(group.snapshot()));
      return response;
    }),

    list: unary<ListReq, InstanceType<typeof persistentPb.ListResp>>(async (request) => {
      const options = request.getOptions();
      let groups: SubscriptionGroup[];
      if (options?.hasListForStream()) {
        const streamOption = options.getListForStream()!;
        const stream = streamOption.hasAll() ? ALL_STREAM : streamNameOf(streamOption.getStream());
        groups = subsystem.list(stream);
        // As EventStoreDB: a stream without groups is "not found", with an empty group name.
        if (groups.length === 0) throw subscriptionDoesNotExist(stream, "");
      } else {
        groups = subsystem.list();
      }
      const response = new persistentPb.ListResp();
      for (const group of groups) response.addSubscriptions(subscriptionInfo(group.snapshot()));
      return response;
    }),

    replayParked: unary<ReplayParkedReq, InstanceType<typeof persistentPb.ReplayParkedResp>>(async (request) => {
      const options = request.getOptions();
      if (!options) throw invalidArgument("ReplayParkedReq.options is required.");
      const group = subsystem.get(targetStream(options), options.getGroupName());
      let stopAt: bigint | undefined;
      if (options.hasStopAt()) {
        const text = options.getStopAt();
        if (!/^-?\d+$/.test(text)) throw invalidArgument(`Invalid stopAt '${text}'.`);
        stopAt = BigInt(text);
        if (stopAt < 0n) stopAt = undefined;
      }
      await group.replayParked(stopAt);
      return new persistentPb.ReplayParkedResp();
    }),

    restartSubsystem: unary<InstanceType<typeof sharedPb.Empty>, InstanceType<typeof sharedPb.Empty>>(async () => {
      await subsystem.restart();
      return new sharedPb.Empty();
    }),

    read: (call: grpc.ServerDuplexStream<ReadReq, ReadResp>) => serveRead(subsystem, call),
  };
}

/** One Read call: the first message names the group; then acks and nacks flow in, events out. */
function serveRead(subsystem: PersistentSubscriptionSubsystem, call: grpc.ServerDuplexStream<ReadReq, ReadResp>): void {
  let group: SubscriptionGroup | undefined;
  let consumer: Consumer | undefined;
  let finished = false;

  const leave = () => {
    if (consumer && group) group.removeConsumer(consumer);
    consumer = undefined;
  };
  const fail = (error: RpcError) => {
    if (finished) return;
    finished = true;
    leave();
    call.emit("error", error);
  };

  const subscribe = (request: ReadReq) => {
    const options = request.getOptions();
    if (!options) throw invalidArgument("The first ReadReq must carry options.");
    const stream = targetStream(options);
    const target = subsystem.get(stream, options.getGroupName());
    const capacity = options.getBufferSize();
    if (capacity <= 0) throw invalidArgument("Buffer size must be positive.");
    const connection: ConsumerConnection = {
      from: call.getPeer(),
      connectionName: call.metadata.get("connection-name")[0]?.toString() || randomUUID(),
      username: userNameOf(call.metadata),
      capacity,
      deliver: ({ readEvent, retryCount }) => {
        // Pre-encoded bytes: the service definition's Read serializer passes Buffers through.
        if (!finished) call.write(encodeEventResponse(readEvent, retryCount) as unknown as ReadResp);
      },
      drop: (error) => {
        consumer = undefined;
        fail(error);
      },
    };
    group = target;
    consumer = target.addConsumer(connection);
    // Events follow on a later turn (the group pumps asynchronously), so this goes out first.
    call.write(confirmationResponse(groupKey(stream, options.getGroupName())));
  };

  call.on("data", (request: ReadReq) => {
    if (finished) return;
    try {
      if (!consumer) {
        if (group) return; // dropped: nothing more to do for this call
        subscribe(request);
        return;
      }
      if (request.hasAck()) group!.ack(idsOf(request.getAck()!.getIdsList()));
      else if (request.hasNack()) {
        const nack = request.getNack()!;
        group!.nack(idsOf(nack.getIdsList()), nackAction(nack.getAction()), nack.getReason());
      }
    } catch (error) {
      fail(toRpcError(error));
    }
  });
  const close = () => {
    leave();
    if (!finished) {
      finished = true;
      try {
        call.end();
      } catch {
        // Already closed by the peer.
      }
    }
  };
  call.on("end", close);
  call.on("cancelled", () => {
    finished = true;
    leave();
  });
  call.on("error", () => {
    finished = true;
    leave();
  });
  call.on("close", () => {
    finished = true;
    leave();
  });
}
