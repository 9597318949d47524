import { loadConfig, sections, type Section } from "../../src/kernel/config/index.js";
import type { K8sObject } from "./kustomize.js";

/**
 * What schemas cannot see: the rendered objects agree with each other and with att's
 * configuration. Returns one line per problem; empty when consistent.
 *
 * - every ATT_* key (ConfigMap, Secret, container env) is an option att knows, and the merged
 *   ConfigMap + Secret values load (`loadConfig`) as a pod would load them;
 * - containers run `att <stage>`, probe /healthz (liveness) and /readyz (readiness) on the port
 *   named `metrics` = ATT_METRICS_PORT, request CPU and memory, run as non-root, and read the
 *   ConfigMap and Secret that exist;
 * - the ScaledObject scales a Deployment without `replicas`, from 1 to ATT_TOPIC_PARTITIONS, on
 *   the lag of ATT_SCORE_GROUP_ID on ATT_TOPIC_TRANSFERS at ATT_KAFKA_BROKERS, with SASL/TLS
 *   when att uses them;
 * - Services, PodDisruptionBudgets and the ServiceMonitor select pods/Services that exist.
 */
export function checkConsistency(docs: K8sObject[]): string[] {
  const problems: string[] = [];
  const known = new Map<string, boolean>();
  for (const section of Object.values(sections) as Section[]) {
    for (const opt of Object.values(section)) known.set(opt.env, Boolean(opt.secret));
  }
  const of = <T>(kind: string) => docs.filter((d) => d.kind === kind) as unknown as T[];
  const configMaps = of<{ metadata: { name: string }; data?: Record<string, string> }>("ConfigMap");
  const secrets = of<{
    metadata: { name: string };
    data?: Record<string, string>;
    stringData?: Record<string, string>;
  }>("Secret");
  const deployments = of<Workload>("Deployment");
  const jobs = of<Workload>("Job");

  const config = configMaps.find((c) => c.metadata.name === "att-config");
  if (!config) return ["ConfigMap att-config is missing"];
  const secret = secrets.find((s) => s.metadata.name === "att-secrets");
  const secretValues: Record<string, string> = {
    ...Object.fromEntries(
      Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    ),
    ...(secret?.stringData ?? {}),
  };
  const env: Record<string, string> = { ...(config.data ?? {}), ...secretValues };

  for (const key of Object.keys(config.data ?? {})) {
    if (!known.has(key))
      problems.push(`ConfigMap att-config: ${key} is not an att option${hint(key, known)}`);
    else if (known.get(key)) problems.push(`ConfigMap att-config: ${key} is a secret; put it in the Secret`);
  }
  for (const key of Object.keys(secretValues)) {
    if (!known.has(key)) problems.push(`Secret att-secrets: ${key} is not an att option${hint(key, known)}`);
  }
  try {
    loadConfig(env);
  } catch (err) {
    problems.push(
      `att-config + att-secrets do not load: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const metricsPort = Number(env.ATT_METRICS_PORT ?? 9464);

  const stages: Record<string, string> = {
    "att-ingest": "ingest",
    "att-score": "score",
    "att-enrich": "enrich",
  };
  for (const [name, stage] of Object.entries(stages)) {
    const d = deployments.find((x) => x.metadata.name === name);
    if (!d) {
      problems.push(`Deployment ${name} is missing`);
      continue;
    }
    const c = d.spec.template.spec.containers[0];
    const label = `Deployment ${name}`;
    if (JSON.stringify(c?.args) !== JSON.stringify([stage])) {
      problems.push(`${label}: args ${JSON.stringify(c?.args)}, expected ["${stage}"]`);
    }
    const port = c?.ports?.find((p) => p.name === "metrics");
    if (port?.containerPort !== metricsPort) {
      problems.push(`${label}: port "metrics" is ${port?.containerPort}, ATT_METRICS_PORT is ${metricsPort}`);
    }
    for (const [probe, path] of [
      ["livenessProbe", "/healthz"],
      ["readinessProbe", "/readyz"],
    ] as const) {
      const get = c?.[probe]?.httpGet;
      if (get?.path !== path || get?.port !== "metrics") {
        problems.push(`${label}: ${probe} must GET ${path} on port metrics (got ${JSON.stringify(get)})`);
      }
    }
    const annotations = d.spec.template.metadata?.annotations ?? {};
    if (
      annotations["prometheus.io/scrape"] !== "true" ||
      annotations["prometheus.io/port"] !== String(metricsPort)
    ) {
      problems.push(
        `${label}: prometheus.io/scrape and prometheus.io/port=${metricsPort} annotations expected`,
      );
    }
    for (const e of c?.env ?? []) {
      if (e.name.startsWith("ATT_") && !known.has(e.name)) {
        problems.push(`${label}: env ${e.name} is not an att option${hint(e.name, known)}`);
      }
    }
  }
  const ingest = deployments.find((d) => d.metadata.name === "att-ingest");
  if (ingest && ingest.spec.replicas !== 2)
    problems.push("Deployment att-ingest: 2 replicas (active + standby) expected");
  const score = deployments.find((d) => d.metadata.name === "att-score");
  const scoreEnv = score?.spec.template.spec.containers[0]?.env ?? [];
  if (!scoreEnv.some((e) => e.name === "ATT_ENRICH_WORKERS" && e.value === "external")) {
    problems.push("Deployment att-score: ATT_ENRICH_WORKERS=external expected (workers run in att-enrich)");
  }

  for (const w of [...deployments, ...jobs]) {
    const label = `${w.kind} ${w.metadata.name}`;
    const pod = w.spec.template.spec;
    if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${label}: runAsNonRoot expected`);
    for (const c of pod.containers) {
      if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory) {
        problems.push(`${label}: container ${c.name} needs cpu and memory requests`);
      }
      if (!c.resources?.limits?.memory) problems.push(`${label}: container ${c.name} needs a memory limit`);
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef && !configMaps.some((m) => m.metadata.name === from.configMapRef!.name)) {
          problems.push(`${label}: envFrom ConfigMap ${from.configMapRef.name} does not exist`);
        }
        if (
          from.secretRef &&
          !from.secretRef.optional &&
          !secrets.some((s) => s.metadata.name === from.secretRef!.name)
        ) {
          problems.push(`${label}: envFrom Secret ${from.secretRef.name} does not exist`);
        }
      }
    }
  }

  for (const so of of<ScaledObject>("ScaledObject")) {
    const label = `ScaledObject ${so.metadata.name}`;
    const target = deployments.find((d) => d.metadata.name === so.spec.scaleTargetRef.name);
    if (!target)
      problems.push(`${label}: scaleTargetRef ${so.spec.scaleTargetRef.name} is not a Deployment here`);
    else if (target.spec.replicas !== undefined) {
      problems.push(
        `${label}: Deployment ${target.metadata.name} sets replicas, which fights the autoscaler`,
      );
    }
    const partitions = Number(env.ATT_TOPIC_PARTITIONS ?? 6);
    if (so.spec.minReplicaCount !== 1)
      problems.push(`${label}: minReplicaCount ${so.spec.minReplicaCount}, expected 1`);
    if (so.spec.maxReplicaCount !== partitions) {
      problems.push(
        `${label}: maxReplicaCount ${so.spec.maxReplicaCount} != ATT_TOPIC_PARTITIONS ${partitions}`,
      );
    }
    const trigger = so.spec.triggers.find((t) => t.type === "kafka");
    if (!trigger) {
      problems.push(`${label}: no kafka trigger`);
      continue;
    }
    const m = trigger.metadata;
    const expect = (field: string, want: string | undefined, option: string) => {
      if (m[field] !== want)
        problems.push(
          `${label}: trigger ${field} ${JSON.stringify(m[field])} != ${option} ${JSON.stringify(want)}`,
        );
    };
    expect("bootstrapServers", env.ATT_KAFKA_BROKERS, "ATT_KAFKA_BROKERS");
    expect("consumerGroup", env.ATT_SCORE_GROUP_ID ?? "att-score", "ATT_SCORE_GROUP_ID");
    expect("topic", env.ATT_TOPIC_TRANSFERS ?? "att.token-transfers.v1", "ATT_TOPIC_TRANSFERS");
    if (!/^[1-9]\d*$/.test(m.lagThreshold ?? ""))
      problems.push(`${label}: lagThreshold must be a positive integer`);
    const sasl = env.ATT_KAFKA_SASL_MECHANISM;
    if (sasl) {
      // KEDA spells them plaintext, scram_sha256, scram_sha512.
      expect(
        "sasl",
        sasl === "plain" ? "plaintext" : sasl.replace("scram-sha-", "scram_sha"),
        "ATT_KAFKA_SASL_MECHANISM",
      );
      if (!trigger.authenticationRef) problems.push(`${label}: SASL needs an authenticationRef`);
    }
    if (/^(true|1|yes)$/i.test(env.ATT_KAFKA_SSL ?? "false") && m.tls !== "enable") {
      problems.push(`${label}: ATT_KAFKA_SSL is on: trigger metadata tls: enable expected`);
    }
    const ref = trigger.authenticationRef?.name;
    if (ref) {
      const auth = of<TriggerAuth>("TriggerAuthentication").find((a) => a.metadata.name === ref);
      if (!auth) problems.push(`${label}: TriggerAuthentication ${ref} does not exist`);
      for (const s of auth?.spec.secretTargetRef ?? []) {
        if (!secrets.some((x) => x.metadata.name === s.name))
          problems.push(`TriggerAuthentication ${ref}: Secret ${s.name} does not exist`);
        else if (s.name === "att-secrets" && !(s.key in secretValues)) {
          problems.push(`TriggerAuthentication ${ref}: key ${s.key} is not in Secret ${s.name}`);
        }
      }
    }
  }

  const podLabels = [...deployments, ...jobs].map((w) => w.spec.template.metadata?.labels ?? {});
  const selects = (sel: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(sel).every(([k, v]) => labels[k] === v);
  const services = of<{
    metadata: { name: string; labels?: Record<string, string> };
    spec: { selector?: Record<string, string>; ports?: { name?: string }[] };
  }>("Service");
  for (const s of services) {
    const n = deployments.filter((d) =>
      selects(s.spec.selector ?? {}, d.spec.template.metadata?.labels ?? {}),
    ).length;
    if (n !== 1)
      problems.push(`Service ${s.metadata.name}: selects the pods of ${n} Deployments, expected 1`);
  }
  for (const p of of<{
    metadata: { name: string };
    spec: { selector: { matchLabels?: Record<string, string> } };
  }>("PodDisruptionBudget")) {
    if (!podLabels.some((l) => selects(p.spec.selector.matchLabels ?? {}, l))) {
      problems.push(`PodDisruptionBudget ${p.metadata.name}: selects no pods`);
    }
  }
  for (const sm of of<{
    metadata: { name: string };
    spec: { selector: { matchLabels?: Record<string, string> }; endpoints: { port?: string }[] };
  }>("ServiceMonitor")) {
    const matched = services.filter((s) =>
      selects(sm.spec.selector.matchLabels ?? {}, s.metadata.labels ?? {}),
    );
    if (matched.length !== Object.keys(stages).length) {
      problems.push(
        `ServiceMonitor ${sm.metadata.name}: selects ${matched.length} Services, expected ${Object.keys(stages).length}`,
      );
    }
    for (const e of sm.spec.endpoints) {
      if (!matched.every((s) => s.spec.ports?.some((p) => p.name === e.port))) {
        problems.push(`ServiceMonitor ${sm.metadata.name}: port ${e.port} is not on every selected Service`);
      }
    }
  }
  return problems;
}

function hint(key: string, known: Map<string, boolean>): string {
  const near = [...known.keys()].find((k) => distance(k, key) <= 2);
  return near ? ` (did you mean ${near}?)` : "";
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return d[a.length]![b.length]!;
}

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string; optional?: boolean } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path?: string; port?: string | number } };
  readinessProbe?: { httpGet?: { path?: string; port?: string | number } };
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
}

interface Workload {
  kind: string;
  metadata: { name: string };
  spec: {
    replicas?: number;
    template: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec: { securityContext?: { runAsNonRoot?: boolean }; containers: Container[] };
    };
  };
}

interface ScaledObject {
  metadata: { name: string };
  spec: {
    scaleTargetRef: { name: string };
    minReplicaCount?: number;
    maxReplicaCount?: number;
    triggers: {
      type: string;
      metadata: Record<string, string | undefined>;
      authenticationRef?: { name: string };
    }[];
  };
}

interface TriggerAuth {
  metadata: { name: string };
  spec: { secretTargetRef?: { parameter: string; name: string; key: string }[] };
}
