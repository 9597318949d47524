import js from "@eslint/js";
import tseslint from "typescript-eslint";

const KAFKA_BOUNDARY =
  "Import Kafka from src/kernel/kafka/index.js: kafkajs is used behind that folder only (our interfaces, error codes, patches).";
const BENCH_KAFKA =
  "Create kafkajs clients with test/helpers/kafka-clients.ts (it loads src/kernel/kafka/patches.ts first).";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".local/", "model-tools/", "models/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        setImmediate: "readonly",
        URL: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        fetch: "readonly",
        performance: "readonly",
        structuredClone: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "off",
    },
  },
  // The Kafka boundary (docs: src/kernel/kafka/index.ts): kafkajs is imported in src/kernel/kafka/
  // only, so the client can be swapped there and its patches load before it.
  {
    files: ["src/**/*.ts"],
    ignores: ["src/kernel/kafka/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "kafkajs", message: KAFKA_BOUNDARY }],
          patterns: [{ group: ["kafkajs/*"], message: KAFKA_BOUNDARY }],
        },
      ],
    },
  },
  // Benches get their kafkajs clients from test/helpers/kafka-clients.ts, which loads the
  // patches first; in bench/ only kafkajs's types (erased, nothing loads).
  {
    files: ["bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: [{ name: "kafkajs", allowTypeImports: true, message: BENCH_KAFKA }],
          patterns: [{ group: ["kafkajs/*"], message: BENCH_KAFKA }],
        },
      ],
    },
  },
);
