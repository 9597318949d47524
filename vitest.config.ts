import { defineConfig } from "vitest/config";

// Integration tests share one local stack (Kafka, Redis, anvil). Files run in parallel
// worker processes; isolation comes from unique topic/group/queue names per test and
// anvil snapshot/revert, never from a private server per test.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
