/** Where the local stack (deploy/local/stack.sh) listens; the same env vars as the product. */
export const KAFKA_BROKERS = (process.env.ATT_KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
export const REDIS_URL = process.env.ATT_REDIS_URL ?? "redis://127.0.0.1:6379";
export const SHARED_DATA = new URL("../../../shared/data/", import.meta.url);
