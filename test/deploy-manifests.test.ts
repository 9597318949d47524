import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkConsistency } from "../deploy/k8s/consistency.js";
import { KustomizeError, renderKustomization, type K8sObject } from "../deploy/k8s/kustomize.js";
import { createManifestValidator, type ManifestValidator } from "../deploy/k8s/validate.js";
import { sections, type Section } from "../src/kernel/config/index.js";

const BASE = resolve("deploy/k8s/base");
/** A real kustomize binary, when one is installed (KUSTOMIZE=path or on PATH), to cross-check the renderer. */
const KUSTOMIZE =
  process.env.KUSTOMIZE ??
  (spawnSync("sh", ["-c", "command -v kustomize"], { encoding: "utf8" }).stdout.trim() || undefined);
const OVERLAY = resolve("deploy/k8s/overlays/example");

let validator: ManifestValidator;
const temps: string[] = [];

beforeAll(async () => {
  validator = await createManifestValidator();
}, 180_000);

afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

function tempOverlay(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "att-overlay-"));
  temps.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function find(docs: K8sObject[], kind: string, name: string): K8sObject {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!d) throw new Error(`${kind}/${name} not rendered`);
  return d;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

describe("deploy/k8s manifests", () => {
  it("the base and the example overlay render and every document validates against its Kubernetes or CRD schema", () => {
    for (const dir of [BASE, OVERLAY]) {
      const docs = renderKustomization(dir);
      const problems = docs.flatMap((d) => validator.validate(d));
      expect(problems).toEqual([]);
      expect(checkConsistency(docs)).toEqual([]);
    }
    const kinds = renderKustomization(OVERLAY).map((d) => `${d.kind}/${d.metadata.name}`);
    expect(kinds.sort()).toEqual(
      [
        "ConfigMap/att-config",
        "Deployment/att-enrich",
        "Deployment/att-ingest",
        "Deployment/att-score",
        "Job/att-create-topics",
        "PodDisruptionBudget/att-enrich",
        "PodDisruptionBudget/att-ingest",
        "PodDisruptionBudget/att-score",
        "ScaledObject/att-score",
        "Secret/att-secrets",
        "Service/att-enrich",
        "Service/att-ingest",
        "Service/att-score",
        "ServiceMonitor/att",
        "TriggerAuthentication/att-kafka-auth",
      ].sort(),
    );
  });

  it("the overlay sets namespace, image, managed-Kafka settings and KEDA credentials", () => {
    const docs = renderKustomization(OVERLAY);
    expect(new Set(docs.map((d) => d.metadata.namespace))).toEqual(new Set(["att"]));
    const images = docs.flatMap((d) =>
      ((d as Loose).spec?.template?.spec?.containers ?? []).map((c: { image: string }) => c.image),
    );
    expect(images.length).toBe(4);
    expect(new Set(images)).toEqual(new Set(["registry.example.com/att-stream:0.1.0"]));
    const so = find(docs, "ScaledObject", "att-score") as Loose;
    expect(so.spec.triggers[0]).toMatchObject({
      type: "kafka",
      metadata: { sasl: "scram_sha512", tls: "enable", lagThreshold: "60000" },
      authenticationRef: { name: "att-kafka-auth" },
    });
    expect(so.spec).toMatchObject({ minReplicaCount: 1, maxReplicaCount: 6 });
    const cm = find(docs, "ConfigMap", "att-config") as Loose;
    expect(cm.data).toMatchObject({ ATT_KAFKA_SSL: "true", ATT_KAFKA_SASL_MECHANISM: "scram-sha-512" });
    // base values the patch did not touch survive the merge
    expect(cm.data.ATT_TOPIC_FINDINGS).toBe("att.findings.v1");
    const ingest = find(docs, "Deployment", "att-ingest") as Loose;
    expect(ingest.spec.template.spec.containers[0].resources).toEqual({
      requests: { cpu: "250m", memory: "256Mi" },
      limits: { memory: "1536Mi" },
    });
    // the base is not modified by rendering the overlay
    expect((find(renderKustomization(BASE), "Deployment", "att-ingest") as Loose).metadata.namespace).toBe(
      undefined,
    );
  });

  it("the score pod's memory covers what the committed benchmarks measured", () => {
    const mib = (q: string) => {
      const m = /^(\d+)(Mi|Gi)$/.exec(q);
      if (!m) throw new Error(`unexpected memory quantity ${q}`);
      return Number(m[1]) * (m[2] === "Gi" ? 1024 : 1);
    };
    const bench = (name: string) =>
      JSON.parse(readFileSync(resolve("bench/results", `${name}.json`), "utf8")) as {
        results: { name: string; value: number; unit: string }[];
      };
    const backlog = bench("backpressure").results.find((r) => r.name === "peak RSS with 1,000,000 waiting")!;
    expect(backlog.unit).toBe("MiB");
    const score = (find(renderKustomization(BASE), "Deployment", "att-score") as Loose).spec.template.spec
      .containers[0].resources;
    // The request holds a replica draining a million-message backlog; the limit leaves room above it.
    expect(mib(score.requests.memory)).toBeGreaterThanOrEqual(backlog.value);
    expect(mib(score.limits.memory)).toBeGreaterThanOrEqual(2 * backlog.value);
  });

  it("a misspelt field or a wrong type anywhere fails validation, naming the field", () => {
    const docs = renderKustomization(OVERLAY);
    const cases: { kind: string; name: string; mutate: (d: Loose) => void; expected: RegExp }[] = [
      {
        kind: "Deployment",
        name: "att-score",
        mutate: (d) => (d.spec.replicsa = 2),
        expected: /unknown field "replicsa"/,
      },
      {
        kind: "Deployment",
        name: "att-ingest",
        mutate: (d) => (d.spec.template.spec.containers[0].livenessProbe.httpGet.paht = "/healthz"),
        expected: /livenessProbe\/httpGet: .*unknown field "paht"/,
      },
      {
        kind: "Deployment",
        name: "att-enrich",
        mutate: (d) => (d.spec.template.spec.containers[0].ports[0].containerPort = "9464"),
        expected: /containerPort: must be (number|integer)/,
      },
      {
        kind: "ScaledObject",
        name: "att-score",
        mutate: (d) => (d.spec.maxReplicaCunt = 6),
        expected: /unknown field "maxReplicaCunt"/,
      },
      {
        kind: "ScaledObject",
        name: "att-score",
        mutate: (d) => (d.spec.triggers[0].metadata.lagThreshold = 10000),
        expected: /lagThreshold: must be string/,
      },
      {
        kind: "PodDisruptionBudget",
        name: "att-score",
        mutate: (d) => (d.spec.maxUnavailabe = 1),
        expected: /unknown field "maxUnavailabe"/,
      },
      {
        kind: "Job",
        name: "att-create-topics",
        mutate: (d) => (d.spec.backofLimit = 1),
        expected: /unknown field "backofLimit"/,
      },
      {
        kind: "ServiceMonitor",
        name: "att",
        mutate: (d) => (d.spec.endpoints[0].intervall = "30s"),
        expected: /unknown field "intervall"/,
      },
      {
        kind: "ConfigMap",
        name: "att-config",
        mutate: (d) => (d.data.ATT_TOPIC_PARTITIONS = 6),
        expected: /ATT_TOPIC_PARTITIONS: must be string/,
      },
      {
        kind: "TriggerAuthentication",
        name: "att-kafka-auth",
        mutate: (d) => (d.spec.secretTargetRef[0].parameterr = "username"),
        expected: /unknown field "parameterr"/,
      },
    ];
    for (const c of cases) {
      const doc = structuredClone(find(docs, c.kind, c.name)) as Loose;
      c.mutate(doc);
      const errors = validator.validate(doc);
      expect(errors.join("\n"), `${c.kind}/${c.name}`).toMatch(c.expected);
    }
    expect(
      validator.validate({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "x" } })[0],
    ).toMatch(/no schema for apps\/v1 StatefulSet/);
  });

  it("a typo in an overlay's patch fails the rendered overlay", () => {
    const dir = tempOverlay({
      "kustomization.yaml": `resources: [${JSON.stringify(BASE)}]\nnamespace: t\npatches:\n  - path: patch.yaml\n`,
      "patch.yaml": [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: att-score",
        "spec:",
        "  template:",
        "    spec:",
        "      containers:",
        "        - name: score",
        "          resoruces:",
        "            requests: { cpu: 2 }",
      ].join("\n"),
    });
    const docs = renderKustomization(dir);
    const score = find(docs, "Deployment", "att-score") as Loose;
    // merged by container name into the existing container, not appended
    expect(score.spec.template.spec.containers).toHaveLength(1);
    expect(score.spec.template.spec.containers[0].resources.requests.cpu).toBe("500m");
    expect(docs.flatMap((d) => validator.validate(d)).join("\n")).toMatch(/unknown field "resoruces"/);
  });

  it("cross-object mistakes are reported: unknown ATT_ variables, mismatched KEDA trigger, missing credentials", () => {
    const docs = renderKustomization(OVERLAY).map((d) => structuredClone(d)) as Loose[];
    const cm = docs.find((d) => d.kind === "ConfigMap");
    cm.data.ATT_KAFKA_BROKER = "kafka:9092";
    cm.data.ATT_TOPIC_PARTITIONS = "12";
    cm.data.ATT_KAFKA_SASL_PASSWORD = "in-the-wrong-place";
    cm.data.ATT_SCORE_BATCH_MAX = "lots";
    const so = docs.find((d) => d.kind === "ScaledObject");
    so.spec.triggers[0].metadata.consumerGroup = "att-scorer";
    const secret = docs.find((d) => d.kind === "Secret");
    delete secret.stringData.ATT_KAFKA_SASL_USERNAME;
    const score = docs.find((d) => d.kind === "Deployment" && d.metadata.name === "att-score");
    score.spec.replicas = 3;
    score.spec.template.spec.containers[0].readinessProbe.httpGet.path = "/healthz";
    const problems = checkConsistency(docs).join("\n");
    expect(problems).toMatch(/ATT_KAFKA_BROKER is not an att option \(did you mean ATT_KAFKA_BROKERS\?\)/);
    expect(problems).toMatch(/ATT_KAFKA_SASL_PASSWORD is a secret; put it in the Secret/);
    expect(problems).toMatch(/ATT_SCORE_BATCH_MAX/);
    expect(problems).toMatch(/maxReplicaCount 6 != ATT_TOPIC_PARTITIONS 12/);
    expect(problems).toMatch(/consumerGroup "att-scorer" != ATT_SCORE_GROUP_ID "att-score"/);
    expect(problems).toMatch(/key ATT_KAFKA_SASL_USERNAME is not in Secret att-secrets/);
    expect(problems).toMatch(/att-score sets replicas, which fights the autoscaler/);
    expect(problems).toMatch(/att-score: readinessProbe must GET \/readyz/);
  });

  it("refuses kustomize features it does not implement instead of ignoring them", () => {
    const unsupported = tempOverlay({
      "kustomization.yaml": `resources: [${JSON.stringify(BASE)}]\ncommonLabels: { team: risk }\n`,
    });
    expect(() => renderKustomization(unsupported)).toThrow(KustomizeError);
    expect(() => renderKustomization(unsupported)).toThrow(/commonLabels not supported/);
    const badPath = tempOverlay({
      "kustomization.yaml": [
        `resources: [${JSON.stringify(BASE)}]`,
        "patches:",
        "  - target: { kind: ScaledObject, name: att-score }",
        "    patch: |-",
        "      - op: replace",
        "        path: /spec/triggers/0/metadata/bootstrapServer",
        "        value: x:9092",
      ].join("\n"),
    });
    expect(() => renderKustomization(badPath)).toThrow(
      /replace \/spec\/triggers\/0\/metadata\/bootstrapServer: no such value/,
    );
    const noTarget = tempOverlay({
      "kustomization.yaml": `resources: [${JSON.stringify(BASE)}]\npatches:\n  - path: p.yaml\n`,
      "p.yaml":
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: att-scorer }\nspec: { replicas: 1 }\n",
    });
    expect(() => renderKustomization(noTarget)).toThrow(/no Deployment att-scorer to patch/);
  });

  it("every ATT_ variable named in docs/deploy.md is an att option", () => {
    const known = new Set<string>();
    for (const section of Object.values(sections) as Section[])
      for (const o of Object.values(section)) known.add(o.env);
    const named = new Set(readFileSync("docs/deploy.md", "utf8").match(/\bATT_[A-Z0-9_]+\b/g) ?? []);
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((n) => !known.has(n))).toEqual([]);
  });
});

describe.skipIf(!KUSTOMIZE)("the renderer against a real kustomize binary", () => {
  it("renders the base and the example overlay exactly as `kustomize build` does", () => {
    const sortKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sortKeys)
        : v && typeof v === "object"
          ? Object.fromEntries(
              Object.keys(v)
                .sort()
                .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
            )
          : v;
    const byId = (docs: unknown[]) =>
      Object.fromEntries(
        docs.map((d) => [`${(d as K8sObject).kind}/${(d as K8sObject).metadata.name}`, sortKeys(d)]),
      );
    for (const dir of [BASE, OVERLAY]) {
      const r = spawnSync(KUSTOMIZE!, ["build", dir], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const real = parseAllDocuments(r.stdout).map((d) => d.toJS() as unknown);
      expect(byId(renderKustomization(dir))).toEqual(byId(real));
    }
  });
});
