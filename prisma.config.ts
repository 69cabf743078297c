// Prisma CLI configuration for the read database (generate, migrate, db).
// One schema per provider, models kept identical: prisma/<provider>/schema.prisma + migrations.
import fs from "node:fs";
import path from "node:path";
import { defineConfig } from "prisma/config";
import { loadConfig } from "./src/kernel/process/config";

// These machines cannot download Prisma's native schema engine; a stand-in sits beside the repo
// (shared/tools/prisma-offline). Elsewhere the file is absent and stock Prisma is used.
const offlineEngine = path.resolve(import.meta.dirname, "../shared/tools/prisma-offline/schema-engine");
if (!process.env.PRISMA_SCHEMA_ENGINE_BINARY && fs.existsSync(offlineEngine)) {
  process.env.PRISMA_SCHEMA_ENGINE_BINARY = offlineEngine;
}
process.env.CHECKPOINT_DISABLE ??= "1";

const url = loadConfig().readDatabaseUrl;
const provider = url.startsWith("file:") ? "sqlite" : "postgresql";

export default defineConfig({
  schema: `prisma/${provider}/schema.prisma`,
  migrations: { path: `prisma/${provider}/migrations` },
  // SHADOW_DATABASE_URL: only for `migrate dev`/`migrate diff --from-migrations` on PostgreSQL
  // (scripts/sync-prisma-schemas.ts sets it to a throwaway database).
  datasource: { url, shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL },
});
