// The store conformance suite (test/eventstore) with @kurrent/kurrentdb-client in place of
// @eventstore/db-client: `npm run test:conformance:kurrent`. test/eventstore/kurrent/redirect.ts
// swaps the module for every importer; the tests themselves are unchanged. Pool settings as in
// vitest.config.ts.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/eventstore/**/*.test.ts"],
    setupFiles: ["test/eventstore/kurrent/redirect.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
