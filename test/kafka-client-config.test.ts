import { createServer, type Socket } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { loadConfig } from "../src/kernel/config/index.js";
import { createKafka } from "../src/kernel/kafka.js";
import { createLogger } from "../src/kernel/logger.js";
import { KAFKA_BROKERS } from "./helpers/services.js";

const API_VERSIONS = 18;

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
