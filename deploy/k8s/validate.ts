import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { createGenerator } from "ts-json-schema-generator";
import type { K8sObject } from "./kustomize.js";

/**
 * Offline schema validation of rendered manifests, as `kubeconform -strict` would do it with
 * the Kubernetes and CRD schemas, in two layers:
 *
 * 1. strict structure: JSON Schemas generated from the API type declarations listed in
 *    schema-types.ts (kubernetes-models for Kubernetes, @kubernetes-models/keda for KEDA's
 *    ScaledObject/TriggerAuthentication CRDs, @kubernetes-models/prometheus-operator for
 *    ServiceMonitor), with `additionalProperties: false` on every object that is not a map:
 *    a misspelt field anywhere fails, as does a wrong type or a missing required field;
 * 2. the same packages' own validators (compiled from the OpenAPI / CRD openAPIV3Schema with
 *    formats), which also check what TypeScript types cannot express.
 *
 * A kind without a schema is an error, not a pass.
 *
 * @example
 *   const validator = await createManifestValidator(); // ~5-10 s: generates the schemas
 *   const errors = validator.validate(doc); // [] when valid
 */

type ModelClass = new (data: never) => { validate(): void };

const KINDS: Record<string, { type: string; model: () => Promise<ModelClass> }> = {
  "apps/v1 Deployment": {
    type: "IDeployment",
    model: async () => (await import("kubernetes-models/apps/v1/Deployment")).Deployment,
  },
  "v1 Service": {
    type: "IService",
    model: async () => (await import("kubernetes-models/v1/Service")).Service,
  },
  "v1 ConfigMap": {
    type: "IConfigMap",
    model: async () => (await import("kubernetes-models/v1/ConfigMap")).ConfigMap,
  },
  "v1 Secret": { type: "ISecret", model: async () => (await import("kubernetes-models/v1/Secret")).Secret },
  "batch/v1 Job": { type: "IJob", model: async () => (await import("kubernetes-models/batch/v1/Job")).Job },
  "policy/v1 PodDisruptionBudget": {
    type: "IPodDisruptionBudget",
    model: async () => (await import("kubernetes-models/policy/v1/PodDisruptionBudget")).PodDisruptionBudget,
  },
  "keda.sh/v1alpha1 ScaledObject": {
    type: "IScaledObject",
    model: async () => (await import("@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject")).ScaledObject,
  },
  "keda.sh/v1alpha1 TriggerAuthentication": {
    type: "ITriggerAuthentication",
    model: async () =>
      (await import("@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication")).TriggerAuthentication,
  },
  "monitoring.coreos.com/v1 ServiceMonitor": {
    type: "IServiceMonitor",
    model: async () =>
      (await import("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor"))
        .ServiceMonitor,
  },
};

export interface ManifestValidator {
  /** Problems of one document, each `<kind>/<name> <json path>: <message>`; empty when valid. */
  validate(doc: K8sObject): string[];
  /** apiVersion + kind pairs this validator knows. */
  readonly kinds: string[];
}

export async function createManifestValidator(): Promise<ManifestValidator> {
  const schema = createGenerator({
    path: fileURLToPath(new URL("./schema-types.ts", import.meta.url)),
    tsconfig: fileURLToPath(new URL("../../tsconfig.json", import.meta.url)),
    type: "*",
    skipTypeCheck: true,
    jsDoc: "none",
    additionalProperties: false,
  }).createSchema("*");
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addSchema(schema, "k8s");
  const strict = new Map<string, ValidateFunction>();
  const models = new Map<string, ModelClass>();
  for (const [key, { type, model }] of Object.entries(KINDS)) {
    const fn = ajv.getSchema(`k8s#/definitions/${type}`);
    if (!fn) throw new Error(`No generated schema for ${type} (${key}); is it exported by schema-types.ts?`);
    strict.set(key, fn);
    models.set(key, await model());
  }
  return {
    kinds: Object.keys(KINDS),
    validate(doc) {
      const key = `${doc.apiVersion} ${doc.kind}`;
      const label = `${doc.kind}/${doc.metadata?.name ?? "?"}`;
      const fn = strict.get(key);
      const Model = models.get(key);
      if (!fn || !Model) return [`${label}: no schema for ${key} (known: ${Object.keys(KINDS).join(", ")})`];
      const errors: string[] = [];
      if (!fn(doc)) errors.push(...describe(fn.errors ?? []).map((e) => `${label} ${e}`));
      try {
        new Model(structuredClone(doc) as never).validate();
      } catch (err) {
        errors.push(`${label} (OpenAPI) ${err instanceof Error ? err.message : String(err)}`);
      }
      return errors;
    },
  };
}

/** ajv errors, without the noise of union branches that a more specific error explains. */
function describe(errors: ErrorObject[]): string[] {
  const lines = errors
    .filter((e) => e.keyword !== "anyOf" && e.keyword !== "oneOf")
    .map((e) => {
      const extra =
        e.keyword === "additionalProperties"
          ? `: unknown field "${String((e.params as { additionalProperty: string }).additionalProperty)}"`
          : e.keyword === "const" || e.keyword === "enum"
            ? `: ${JSON.stringify(e.params)}`
            : "";
      return `${e.instancePath || "/"}: ${e.message ?? e.keyword}${extra}`;
    });
  return [...new Set(lines)];
}
