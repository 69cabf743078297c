import { defineConfig } from "vitest/config";

// `npm run test:chaos`: the heavy reliability scenarios (test/chaos/*.chaos.ts, which `npm test`'s
// *.test.ts pattern never picks up). One file at a time: they start many processes and saturate
// the machine. Every scenario is bounded, so the run stops by itself.
export default defineConfig({
  test: {
    include: ["test/chaos/**/*.chaos.ts"],
    testTimeout: 900_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 1,
    fileParallelism: false,
  },
});
