// The product projector in a process of its own, as services/projector runs it, for the lag
// benchmark: each committed run is reported to the parent over IPC with the time it was applied
// (monotonicMs: CLOCK_MONOTONIC on Linux, so the parent's clock reads the same).
import { EventStoreDBClient } from "@eventstore/db-client";
import pino from "pino";
import { startProjector } from "../../src/kernel/read/projector";
import { openReadDb } from "../../src/kernel/read/read-db";
import { productProjection } from "../../src/product/projection";
import { monotonicMs } from "./processes";

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING!;
const readDatabaseUrl = process.env.READ_DATABASE_URL!;
const send = (message: unknown) => process.send?.(message);

const client = EventStoreDBClient.connectionString(connectionString);
const db = await openReadDb(readDatabaseUrl);
const projector = startProjector({
  client,
  db,
  projections: [productProjection],
  logger: pino({ level: "silent" }),
  maxRetries: 5,
  retryBaseMs: 100,
  bufferSize: 100,
  observer: {
    state() {},
    retried() {},
    parked() {},
    applied: (_projection, _count, position) => send({ position: position.toString(), at: monotonicMs() }),
  },
});
send({ ready: true });
process.once("disconnect", () => {
  void projector.stop().then(async () => {
    await db.$disconnect();
    await client.dispose();
    process.exit(0);
  });
});
