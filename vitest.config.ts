import { defineConfig } from "vitest/config";

// Integration tests share one local stack (Kafka, Redis, anvil). Files run in parallel
// worker processes; isolation comes from unique topic/group/queue names per test and
// anvil snapshot/revert, never from a private server per test.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // Our kafkajs patches must be in place before any test file loads kafkajs itself (tests may
    // build their own kafkajs clients); the version check runs with them.
    setupFiles: ["src/kernel/kafka/patches.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
