// One-off upgrade: moves password hashes from the old "member_credential-<id>" event streams into
// the member_credential table (CREDENTIALS_DATABASE_URL) and tombstones those streams.
//   npx tsx scripts/move-legacy-credentials.ts
// Run with the services stopped, after `npm run db:migrate`. Safe to run again. The tombstoned
// events stay in $all until the store scavenges (EventStoreDB/KurrentDB: start a scavenge; the
// embedded store has none: its log file keeps them).
import { loadConfig } from "../src/kernel/config";
import { createEventStoreClient } from "../src/kernel/event-store";
import { openReadDb } from "../src/kernel/read-db";
import { AggregateRepository } from "../src/kernel/repository";
import { memberAggregate } from "../src/member/decider";
import { moveLegacyCredentials } from "../src/member/legacy-credentials";

async function main(): Promise<void> {
  const config = loadConfig();
  const client = createEventStoreClient(config);
  const db = await openReadDb(config.credentialsDatabaseUrl);
  try {
    const members = new AggregateRepository(client, memberAggregate, { snapshotEvery: 0, maxConflictRetries: config.command.maxConflictRetries });
    const report = await moveLegacyCredentials(client, members, db);
    console.log(`legacy credential streams: ${report.streams}, hashes copied: ${report.copied}, skipped (withdrawn, unknown or already present): ${report.skipped}`);
  } finally {
    await db.$disconnect();
    await client.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(`moving legacy credentials failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
