/**
 * The API types the manifests may use, for deploy/k8s/validate.ts: it turns them into strict
 * JSON Schemas (no unknown field anywhere) with ts-json-schema-generator. The declarations come
 * from kubernetes-models (generated from the Kubernetes OpenAPI spec, 1.30-era API) and
 * @kubernetes-models/keda / prometheus-operator (generated from the KEDA and Prometheus
 * Operator CRDs' openAPIV3Schema). A kind used in deploy/k8s must be listed here and in
 * validate.ts KINDS.
 */
export type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
export type { IService } from "kubernetes-models/v1/Service";
export type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
export type { ISecret } from "kubernetes-models/v1/Secret";
export type { IJob } from "kubernetes-models/batch/v1/Job";
export type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
export type { IScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
export type { ITriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";
export type { IServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
