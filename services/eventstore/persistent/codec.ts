// Confirmations and group snapshots as the client's protobuf messages (events: read-encoding.ts).
import type { GroupSnapshot } from "./group";
import { ALL_STREAM, startFromText } from "./settings";
import { persistentPb, type ReadResp, type SubscriptionInfo } from "./stubs";

export function confirmationResponse(subscriptionId: string): ReadResp {
  const confirmation = new persistentPb.ReadResp.SubscriptionConfirmation();
  confirmation.setSubscriptionId(subscriptionId);
  const response = new persistentPb.ReadResp();
  response.setSubscriptionConfirmation(confirmation);
  return response;
}

export function subscriptionInfo(snapshot: GroupSnapshot): SubscriptionInfo {
  const { config } = snapshot;
  const { settings } = config;
  const isAll = config.stream === ALL_STREAM;
  const seqText = (seq: bigint | undefined) => (seq === undefined ? "" : isAll ? `C:${seq}/P:${seq}` : seq.toString());
  const info = new persistentPb.SubscriptionInfo();
  info.setEventSource(config.stream);
  info.setGroupName(config.group);
  info.setStatus(snapshot.status);
  for (const consumer of snapshot.consumers) {
    const connection = new persistentPb.SubscriptionInfo.ConnectionInfo();
    connection.setFrom(consumer.connection.from);
    connection.setUsername(consumer.connection.username);
    connection.setAverageItemsPerSecond(0);
    connection.setTotalItems(consumer.totalItems.toString());
    connection.setCountSinceLastMeasurement("0");
    connection.setAvailableSlots(consumer.availableSlots);
    connection.setInFlightMessages(consumer.inFlight.size);
    connection.setConnectionName(consumer.connection.connectionName);
    if (settings.extraStatistics) {
      connection.setObservedMeasurementsList(
        consumer.latencies
          .measurements()
          .map(([key, value]) => new persistentPb.SubscriptionInfo.Measurement().setKey(key).setValue(String(value))),
      );
    }
    info.addConnections(connection);
  }
  info.setAveragePerSecond(0);
  info.setTotalItems(snapshot.totalItems.toString());
  info.setCountSinceLastMeasurement("0");
  info.setLastCheckpointedEventPosition(seqText(snapshot.lastCheckpointedSeq));
  info.setLastKnownEventPosition(seqText(snapshot.lastKnownSeq));
  info.setResolveLinkTos(settings.resolveLinks);
  info.setStartFrom(startFromText(config));
  info.setMessageTimeoutMilliseconds(settings.messageTimeoutMs);
  info.setExtraStatistics(settings.extraStatistics);
  info.setMaxRetryCount(settings.maxRetryCount);
  info.setLiveBufferSize(settings.liveBufferSize);
  info.setBufferSize(settings.historyBufferSize);
  info.setReadBatchSize(settings.readBatchSize);
  info.setCheckPointAfterMilliseconds(settings.checkpointAfterMs);
  info.setMinCheckPointCount(settings.minCheckpointCount);
  info.setMaxCheckPointCount(settings.maxCheckpointCount);
  info.setReadBufferCount(snapshot.readBufferCount);
  info.setLiveBufferCount("0");
  info.setRetryBufferCount(snapshot.retryBufferCount);
  info.setTotalInFlightMessages(snapshot.inFlight);
  info.setOutstandingMessagesCount(snapshot.inFlight);
  info.setNamedConsumerStrategy(settings.consumerStrategy);
  info.setMaxSubscriberCount(settings.maxSubscriberCount);
  info.setParkedMessageCount(snapshot.parkedCount.toString());
  return info;
}
