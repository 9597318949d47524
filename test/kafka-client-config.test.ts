import { execFile } from "node:child_process";
import { createServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import { loadConfig } from "../src/kernel/config/index.js";
import { createKafka } from "../src/kernel/kafka/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { KAFKA_BROKERS } from "./helpers/services.js";

const API_VERSIONS = 18;
const run = promisify(execFile);

/** A TCP server that keeps the first bytes each connection sends and never answers. */
async function firstBytesServer(): Promise<{ broker: string; first: Promise<Buffer> }> {
  let got!: (b: Buffer) => void;
  const first = new Promise<Buffer>((resolve) => (got = resolve));
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.once("data", (b: Buffer) => got(b));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  return { broker: `127.0.0.1:${port}`, first };
}

function client(env: Record<string, string>) {
  const config = loadConfig({ ATT_KAFKA_CONNECTION_TIMEOUT_MS: "2000", ...env });
  return createKafka(config.kafka, { logger: createLogger({ level: "silent" }), stage: "config-test" });
}

describe("managed-Kafka options reach the kafkajs client", () => {
  it.each([
    ["ATT_KAFKA_SSL=true opens with a TLS ClientHello", "true"],
    ["without ATT_KAFKA_SSL the first request is Kafka's ApiVersions in plain text", "false"],
  ])("%s", async (_name, ssl) => {
    const { broker, first } = await firstBytesServer();
    const admin = client({ ATT_KAFKA_BROKERS: broker, ATT_KAFKA_SSL: ssl }).admin();
    const connecting = admin.connect().catch(() => undefined);
    const bytes = await first;
    if (ssl === "true") {
      expect(bytes[0]).toBe(0x16); // TLS record type: handshake
      expect(bytes[5]).toBe(0x01); // handshake type: ClientHello
    } else {
      expect(bytes.readInt16BE(4)).toBe(API_VERSIONS);
    }
    // Not awaited: the server never answers, so the client would wait for its request timeout.
    void connecting;
  });

  it("ATT_KAFKA_SASL_* make the client authenticate, and the password stays out of the error", async () => {
    // The local broker has no SASL listener: it refuses the handshake the client must attempt.
    const admin = client({
      ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
      ATT_KAFKA_SASL_MECHANISM: "scram-sha-512",
      ATT_KAFKA_SASL_USERNAME: "att",
      ATT_KAFKA_SASL_PASSWORD: "pw-not-for-logs-81f3",
    }).admin();
    const err = (await admin.connect().then(
      () => new Error("connected without SASL"),
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/SASL/);
    expect(`${err.message} ${err.stack ?? ""}`).not.toContain("pw-not-for-logs-81f3");
    await admin.disconnect();
    // Without SASL the same broker accepts the client.
    const plain = client({ ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(",") }).admin();
    await plain.connect();
    await plain.disconnect();
  });
});

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * In a fresh Node process with NODE_ENV=`nodeEnv` (kafkajs reads it once, when it loads): an
 * admin client from createKafka connects to a port where nothing listens; returns the waits
 * kafkajs reports before each of its first 7 reconnection attempts.
 */
async function reconnectWaits(nodeEnv: string): Promise<number[]> {
  const script = `
    import { createServer } from "node:net";
    import { Writable } from "node:stream";
    import { loadConfig } from "./src/kernel/config/index.ts";
    import { createKafka } from "./src/kernel/kafka/index.ts";
    import { createLogger } from "./src/kernel/logger.ts";
    const server = createServer();
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const port = server.address().port;
    await new Promise((r) => server.close(r));
    const waits = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        for (const text of chunk.toString().split("\\n").filter(Boolean)) {
          const line = JSON.parse(text);
          if (line.msg.startsWith("kafkajs: Failed to connect to seed broker")) waits.push(line.retryTime);
        }
        done();
      },
    });
    const config = loadConfig({ ATT_KAFKA_BROKERS: "127.0.0.1:" + port });
    const logger = createLogger({ level: "debug", destination });
    createKafka(config.kafka, { logger, stage: "retry-test" }).admin().connect().catch(() => undefined);
    while (waits.length < 7) await new Promise((r) => setTimeout(r, 50));
    console.log(JSON.stringify(waits.slice(0, 7)));
    process.exit(0);
  `;
  const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: nodeEnv },
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim().split("\n").pop()!) as number[];
}

describe("the kafkajs client's retry schedule", () => {
  // kafkajs swaps its retry defaults (30 s cap, doubling) for a 1 s cap growing by 1.5 when
  // NODE_ENV=test, which vitest sets: tests must run the schedule production runs.
  it.each(["production", "test"])(
    "with NODE_ENV=%s it backs off from 200 ms, doubling, and never waits more than 1 s between attempts",
    async (nodeEnv) => {
      const waits = await reconnectWaits(nodeEnv);
      expect(waits[0]).toBeGreaterThanOrEqual(160);
      expect(waits[0]).toBeLessThanOrEqual(240);
      // Doubled with ±20 % jitter: at least 1.6×.
      expect(waits[1]).toBeGreaterThanOrEqual(Math.floor(1.6 * waits[0]!));
      expect(Math.max(...waits)).toBeLessThanOrEqual(1000);
      expect(waits.slice(4)).toEqual([1000, 1000, 1000]);
    },
  );
});
