import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigResourceTypes } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { renderKustomization, type K8sObject } from "../deploy/k8s/kustomize.js";
import { connectedAdmin } from "./helpers/kafka.js";
import { uniqueName } from "./helpers/names.js";
import { KAFKA_BROKERS } from "./helpers/services.js";
import { createTopicsReady } from "../src/kernel/kafka/index.js";

/**
 * The image's steps without Docker: scripts/pack-install-check.sh builds, packs and installs the
 * project as a user and as the Dockerfile's runtime stage would, and scores rows with the bundled
 * default model from there. The topics Job's script then runs inside that image folder against
 * the local Kafka.
 */

interface Summary {
  work_dir: string;
  image_app_dir: string;
  default_model: string;
  rows_scored: number;
  tarball_bytes: number;
  consumer_install_seconds: number;
  consumer_node_modules_bytes: number;
  image_runtime_stage_seconds: number;
  image_node_modules_bytes: number;
  image_app_bytes: number;
  image_user: string;
  consumer_default_registry: string;
}

const SCRIPT = resolve("scripts/pack-install-check.sh");
const temps: string[] = [];
let summary: Summary | undefined;

afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

function run(args: string[]) {
  const r = spawnSync("bash", [SCRIPT, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe("production install (the image's steps, without Docker)", () => {
  it("npm pack + install --omit=dev, and the Dockerfile's runtime stage, score rows with the bundled default model", () => {
    const json = join(tempDir("att-pack-summary-"), "summary.json");
    const r = run(["--keep", "--json", json]);
    if (r.status !== 0) console.error(r.out.slice(-6000));
    expect(r.status).toBe(0);
    summary = JSON.parse(readFileSync(json, "utf8")) as Summary;
    temps.push(summary.work_dir);
    console.log(
      `pack-install-check: consumer install ${summary.consumer_install_seconds} s, node_modules ` +
        `${(summary.consumer_node_modules_bytes / 2 ** 20).toFixed(0)} MiB; image runtime stage ` +
        `${summary.image_runtime_stage_seconds} s, node_modules ${(summary.image_node_modules_bytes / 2 ** 20).toFixed(0)} MiB`,
    );
    const defaultModel = readFileSync("models/registry/DEFAULT", "utf8").trim();
    expect(summary.default_model).toBe(defaultModel);
    expect(summary.rows_scored).toBe(201);
    expect(summary.image_user).toBe("node");
    expect(r.out).toContain(
      `ok  A: att model score --model node_modules/att-stream/models/registry/${defaultModel}`,
    );
    expect(r.out).toContain("ok  image: att model score --input rows.csv (DEFAULT model, cwd outside /app)");
    // the prune keeps one platform's onnxruntime binary: the image is far smaller than a plain install
    expect(summary.image_node_modules_bytes).toBeLessThan(summary.consumer_node_modules_bytes / 2);
    expect(existsSync(join(summary.image_app_dir, "dist/cli.js"))).toBe(true);
    expect(existsSync(join(summary.image_app_dir, "model-tools"))).toBe(false);
  }, 900_000);

  it("refuses a Dockerfile whose COPY needs a path that .dockerignore keeps out of the build context", () => {
    expect(existsSync("dist/cli.js"), "the previous test builds dist/").toBe(true);
    const dockerfile = join(tempDir("att-dockerfile-"), "Dockerfile");
    writeFileSync(
      dockerfile,
      [
        "FROM node:20-bookworm-slim AS build",
        "WORKDIR /src",
        "FROM node:20-bookworm-slim AS runtime",
        "WORKDIR /app",
        "COPY bench/scoring.ts ./bench/",
        'ENTRYPOINT ["node", "/app/dist/cli.js"]',
      ].join("\n"),
    );
    const r = run(["--skip-build", "--only", "image", "--dockerfile", dockerfile]);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain(".dockerignore excludes bench/scoring.ts, which COPY needs");
  }, 120_000);

  describe("the topics Job, run as its manifest says inside the image folder, against Kafka", () => {
    const job = renderKustomization(resolve("deploy/k8s/base")).find((d) => d.kind === "Job") as K8sObject & {
      spec: {
        template: {
          spec: {
            containers: { command: string[]; args: string[]; env: { name: string; value: string }[] }[];
          };
        };
      };
    };
    const configMap = renderKustomization(resolve("deploy/k8s/base")).find(
      (d) => d.kind === "ConfigMap",
    ) as K8sObject & {
      data: Record<string, string>;
    };
    const container = job.spec.template.spec.containers[0]!;

    function runJob(topics: Record<string, string>) {
      if (!summary) throw new Error("needs the image folder of the first test");
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? "",
        ...configMap.data,
        ...Object.fromEntries(container.env.map((e) => [e.name, e.value])),
        ...topics,
        ATT_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
        ATT_TOPIC_PARTITIONS: "3",
        APP_DIR: summary.image_app_dir,
      };
      const [cmd, ...cmdArgs] = container.command;
      const r = spawnSync(cmd!, [...cmdArgs, ...container.args], { env, encoding: "utf8", cwd: tmpdir() });
      const logs = r.stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { msg: string; topic?: string; planned?: string[]; fix?: string });
      return { status: r.status, stderr: r.stderr, logs };
    }

    it("creates the topics with their partitions, compaction and retention, then leaves them alone", async () => {
      const topics = {
        ATT_TOPIC_TRANSFERS: uniqueName("job-transfers"),
        ATT_TOPIC_FINDINGS: uniqueName("job-findings"),
        ATT_TOPIC_DLQ: uniqueName("job-dlq"),
        ATT_INGEST_CHECKPOINT_TOPIC: uniqueName("job-checkpoint"),
      };
      const admin = await connectedAdmin();
      try {
        const first = runJob(topics);
        expect(first.status, first.stderr).toBe(0);
        expect(
          first.logs
            .filter((l) => l.msg === "Topic created")
            .map((l) => l.topic)
            .sort(),
        ).toEqual(Object.values(topics).sort());
        const meta = await admin.fetchTopicMetadata({ topics: Object.values(topics) });
        const partitions = Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]));
        expect(partitions).toEqual({
          [topics.ATT_TOPIC_TRANSFERS]: 3,
          [topics.ATT_TOPIC_FINDINGS]: 3,
          [topics.ATT_TOPIC_DLQ]: 3,
          [topics.ATT_INGEST_CHECKPOINT_TOPIC]: 1,
        });
        const described = await admin.describeConfigs({
          includeSynonyms: false,
          resources: Object.values(topics).map((name) => ({
            type: ConfigResourceTypes.TOPIC,
            name,
            configNames: ["cleanup.policy", "retention.ms", "delete.retention.ms"],
          })),
        });
        const config = (topic: string, name: string) =>
          described.resources
            .find((r) => r.resourceName === topic)
            ?.configEntries.find((e) => e.configName === name)?.configValue;
        expect(config(topics.ATT_TOPIC_FINDINGS, "cleanup.policy")).toBe("compact,delete");
        expect(config(topics.ATT_TOPIC_FINDINGS, "retention.ms")).toBe(String(30 * 86_400_000));
        expect(config(topics.ATT_TOPIC_FINDINGS, "delete.retention.ms")).toBe(String(7 * 86_400_000));
        expect(config(topics.ATT_INGEST_CHECKPOINT_TOPIC, "cleanup.policy")).toBe("compact");
        expect(config(topics.ATT_TOPIC_TRANSFERS, "cleanup.policy")).toBe("delete");
        expect(config(topics.ATT_TOPIC_TRANSFERS, "retention.ms")).toBe(String(7 * 86_400_000));
        expect(config(topics.ATT_TOPIC_DLQ, "retention.ms")).toBe(String(14 * 86_400_000));

        const again = runJob(topics);
        expect(again.status, again.stderr).toBe(0);
        expect(again.logs.filter((l) => l.msg === "Topic created")).toEqual([]);
        expect(again.logs.filter((l) => l.msg === "Topic exists as planned")).toHaveLength(4);
      } finally {
        await admin.deleteTopics({ topics: Object.values(topics), timeout: 10_000 }).catch(() => undefined);
      }
    }, 120_000);

    it("reports a findings topic that exists without compaction, with the command that fixes it", async () => {
      const topics = {
        ATT_TOPIC_TRANSFERS: uniqueName("job-transfers"),
        ATT_TOPIC_FINDINGS: uniqueName("job-findings"),
        ATT_TOPIC_DLQ: uniqueName("job-dlq"),
        ATT_INGEST_CHECKPOINT_TOPIC: uniqueName("job-checkpoint"),
      };
      const admin = await connectedAdmin();
      try {
        // what `att score` leaves behind when it starts before the Job: broker defaults
        await createTopicsReady(admin, [
          { topic: topics.ATT_TOPIC_FINDINGS, numPartitions: 3, replicationFactor: 1 },
        ]);
        const r = runJob(topics);
        expect(r.status, r.stderr).toBe(0);
        const warning = r.logs.find((l) => l.msg === "Topic exists with other settings; left alone");
        expect(warning?.topic).toBe(topics.ATT_TOPIC_FINDINGS);
        expect(warning?.planned).toContain("cleanup.policy=[compact,delete]");
        expect(warning?.fix).toContain(
          `--entity-name ${topics.ATT_TOPIC_FINDINGS} --add-config cleanup.policy=[compact,delete]`,
        );
        expect(r.logs.filter((l) => l.msg === "Topic created")).toHaveLength(3);
      } finally {
        await admin.deleteTopics({ topics: Object.values(topics), timeout: 10_000 }).catch(() => undefined);
      }
    }, 120_000);
  });
});
