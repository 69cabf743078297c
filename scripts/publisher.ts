// `npm run publisher -- <command>`: the integration-event publisher seen from outside.
//   status   leader, checkpoint, lag behind $all, parked count
//   parked   the parked events (mapping kept throwing) with their errors
//   replay   map and publish every parked event again (same Nats-Msg-Id); unpark those that went out
// Settings come from the environment like the publisher's (NATS_URL, PUBLISHER_STREAM, ...).
import { loadConfig } from "../src/kernel/process/config";
import { createEventStoreClient } from "../src/kernel/write/event-store";
import { openBroker, type Broker } from "../src/kernel/publisher/broker";
import { listParked } from "../src/kernel/publisher/state";
import { replayParked } from "../src/kernel/publisher/status";
import { integrationMappings } from "../services/publisher/mappings";
import { publisherStatusLine } from "../services/publisher/status-line";

const USAGE = "usage: npm run publisher -- status | parked | replay";

async function main(command: string | undefined): Promise<number> {
  if (!command || !["status", "parked", "replay"].includes(command)) {
    console.error(`${command ? `unknown command "${command}"` : "no command given"}\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const client = createEventStoreClient(config);
  if (command === "status" || config.publisher.natsUrl === "") {
    console.log(await publisherStatusLine(config, client));
    await client.dispose();
    return command === "status" ? 0 : 2;
  }
  let broker: Broker | undefined;
  try {
    broker = await openBroker({ url: config.publisher.natsUrl, ...config.publisher }, "eventmall-publisher-cli", { ensureStream: false, waitForBroker: false });
    if (command === "parked") {
      const parked = await listParked(broker.state);
      for (const p of parked) console.log(`${p.streamId}@${p.revision}\t${p.type}\t${p.eventId}\tparked ${p.parkedAt}\t${p.error}`);
      console.log(`${parked.length} parked`);
    } else {
      const result = await replayParked(client, broker, config.publisher.stream, config.publisher.subjectPrefix, integrationMappings);
      console.log(`replayed: ${result.published} published, ${result.failed.length} still failing`);
      for (const failed of result.failed) console.log(`  ${failed.eventId}: ${failed.error}`);
      return result.failed.length === 0 ? 0 : 1;
    }
    return 0;
  } finally {
    await broker?.close();
    await client.dispose();
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
