import { createServer, type Server } from "node:http";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { Logger } from "./logger.js";

export { Counter, Gauge, Registry } from "prom-client";

/** A process-wide registry with Node's default metrics, labelled with the stage name. */
export function createMetricsRegistry(stage: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ stage });
  collectDefaultMetrics({ register: registry, prefix: "att_" });
  return registry;
}

export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface HealthServer {
  readonly port: number;
  /** Adds a named readiness condition; /readyz is 200 only when all hold. */
  addReadinessCheck(name: string, check: ReadinessCheck): void;
  close(): Promise<void>;
}

/**
 * Serves `/metrics` (Prometheus text), `/healthz` (process alive: 200 while the event loop
 * answers) and `/readyz` (200 when every readiness check passes, else 503 with the failing names).
 */
export async function startHealthServer(opts: {
  registry: Registry;
  port: number;
  host?: string;
  logger: Logger;
}): Promise<HealthServer> {
  const checks = new Map<string, ReadinessCheck>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        const path = (req.url ?? "/").split("?")[0];
        if (path === "/metrics") {
          const body = await opts.registry.metrics();
          res.writeHead(200, { "content-type": opts.registry.contentType });
          res.end(body);
        } else if (path === "/healthz") {
          res.writeHead(200, { "content-type": "text/plain" });
          res.end("ok\n");
        } else if (path === "/readyz") {
          const failing: string[] = [];
          for (const [name, check] of checks) {
            if (!(await check())) failing.push(name);
          }
          res.writeHead(failing.length ? 503 : 200, { "content-type": "application/json" });
          res.end(JSON.stringify({ ready: failing.length === 0, failing }) + "\n");
        } else {
          res.writeHead(404).end();
        }
      } catch (err) {
        opts.logger.error({ msg: "Health endpoint failed", err });
        res.writeHead(500).end();
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  opts.logger.info({ msg: "Health server listening", port });
  return {
    port,
    addReadinessCheck: (name, check) => void checks.set(name, check),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
