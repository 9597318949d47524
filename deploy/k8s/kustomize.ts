import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse, parseAllDocuments, stringify } from "yaml";

/**
 * The subset of kustomize that deploy/k8s uses, so that the manifests can be rendered and
 * validated where no kustomize binary exists (tests, CI). Supported kustomization fields:
 * `resources` (files and folders with their own kustomization), `namespace`, `images`
 * (newName/newTag/digest) and `patches` (strategic merge, or JSON 6902 with a `target`), in
 * kustomize's order: resources, patches, namespace, images. Anything else is refused with
 * KustomizeError, so a kustomization can never silently mean more than this renders.
 *
 * @example
 *   const docs = renderKustomization("deploy/k8s/overlays/example");
 *   process.stdout.write(toYaml(docs));
 * CLI: npx tsx deploy/k8s/kustomize.ts deploy/k8s/overlays/example
 */

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export class KustomizeError extends Error {
  override name = "KustomizeError";
}

interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

interface PatchEntry {
  path?: string;
  patch?: string;
  target?: PatchTarget;
}

interface ImageEntry {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

const SUPPORTED_FIELDS = new Set(["apiVersion", "kind", "resources", "namespace", "images", "patches"]);
const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "PersistentVolume",
  "StorageClass",
  "PriorityClass",
  "ClusterTriggerAuthentication",
]);
/** Built-in API groups whose lists merge by key in a strategic merge patch. */
const BUILTIN_GROUPS = new Set(["", "apps", "batch", "policy"]);
/** patchMergeKey of the Kubernetes API lists that this subset merges instead of replacing. */
const MERGE_KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  env: "name",
  volumes: "name",
  imagePullSecrets: "name",
  volumeMounts: "mountPath",
  ports: "containerPort",
};

/** Renders the kustomization in `dir` (a folder holding kustomization.yaml). */
export function renderKustomization(dir: string): K8sObject[] {
  const file = KUSTOMIZATION_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new KustomizeError(`${dir}: no kustomization.yaml`);
  const k = (parse(readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>;
  if (k.kind !== undefined && k.kind !== "Kustomization") {
    throw new KustomizeError(`${file}: kind ${String(k.kind)} is not a Kustomization`);
  }
  const unsupported = Object.keys(k).filter((f) => !SUPPORTED_FIELDS.has(f));
  if (unsupported.length > 0) {
    throw new KustomizeError(
      `${file}: field(s) ${unsupported.join(", ")} not supported by this renderer (supported: ${[...SUPPORTED_FIELDS].join(", ")})`,
    );
  }

  let docs: K8sObject[] = [];
  for (const entry of asList<string>(k.resources, `${file}: resources`)) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new KustomizeError(`${file}: resource ${entry} not found`);
    docs.push(...(statSync(path).isDirectory() ? renderKustomization(path) : readObjects(path)));
  }
  const seen = new Set<string>();
  for (const d of docs) {
    const id = objectId(d);
    if (seen.has(id)) throw new KustomizeError(`${file}: ${id} is defined twice`);
    seen.add(id);
  }
  for (const p of asList<PatchEntry>(k.patches, `${file}: patches`)) applyPatch(docs, p, dir, file);
  if (k.namespace !== undefined) {
    const ns = String(k.namespace);
    docs = docs.map((d) =>
      CLUSTER_SCOPED.has(d.kind) ? d : { ...d, metadata: { ...d.metadata, namespace: ns } },
    );
  }
  for (const img of asList<ImageEntry>(k.images, `${file}: images`)) {
    if (typeof img?.name !== "string") throw new KustomizeError(`${file}: images entry without name`);
    for (const d of docs) setImages(d, img);
  }
  return docs;
}

/** Multi-document YAML, as `kustomize build` prints it. */
export function toYaml(docs: K8sObject[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n");
}

export function objectId(d: K8sObject): string {
  return `${d.apiVersion}/${d.kind}/${d.metadata.namespace ?? "~"}/${d.metadata.name}`;
}

function asList<T>(value: unknown, where: string): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new KustomizeError(`${where} must be a list`);
  return value as T[];
}

function readObjects(path: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(readFileSync(path, "utf8"))) {
    if (doc.errors.length > 0) throw new KustomizeError(`${path}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (!isObject(value) || typeof value.apiVersion !== "string" || typeof value.kind !== "string") {
      throw new KustomizeError(`${path}: a document without apiVersion and kind`);
    }
    const meta = value.metadata;
    if (!isObject(meta) || typeof meta.name !== "string") {
      throw new KustomizeError(`${path}: ${value.kind} without metadata.name`);
    }
    out.push(value as K8sObject);
  }
  return out;
}

function applyPatch(docs: K8sObject[], entry: PatchEntry, dir: string, file: string): void {
  if ((entry.path === undefined) === (entry.patch === undefined)) {
    throw new KustomizeError(`${file}: a patch needs exactly one of path and patch`);
  }
  const where = entry.path ? `${file}: patch ${entry.path}` : `${file}: inline patch`;
  const text = entry.path ? readFileSync(resolve(dir, entry.path), "utf8") : entry.patch!;
  const parsed = parseAllDocuments(text).map((d) => d.toJS() as unknown);
  if (parsed.length === 1 && Array.isArray(parsed[0])) {
    if (!entry.target) throw new KustomizeError(`${where}: a JSON 6902 patch needs a target`);
    const targets = docs.filter((d) => matches(d, entry.target!));
    if (targets.length === 0) throw new KustomizeError(`${where}: no resource matches the target`);
    for (const d of targets) jsonPatch(d, parsed[0] as JsonOp[], where);
    return;
  }
  for (const patch of parsed) {
    if (!isObject(patch) || typeof patch.kind !== "string" || !isObject(patch.metadata)) {
      throw new KustomizeError(`${where}: a strategic merge patch needs kind and metadata.name`);
    }
    const target: PatchTarget = entry.target ?? {
      kind: patch.kind,
      name: String(patch.metadata.name),
    };
    const targets = docs.filter((d) => matches(d, target));
    if (targets.length === 0) {
      throw new KustomizeError(`${where}: no ${target.kind ?? "resource"} ${target.name ?? ""} to patch`);
    }
    for (const d of targets) {
      const { metadata: _m, apiVersion: _a, kind: _k, ...body } = patch;
      const builtin = BUILTIN_GROUPS.has(groupOf(d.apiVersion));
      strategicMerge(d, body, builtin, where);
      if (isObject(patch.metadata)) {
        const { name: _n, namespace: _ns, ...meta } = patch.metadata;
        strategicMerge(d.metadata, meta, builtin, where);
      }
    }
  }
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.split("/")[0]! : "";
}

function matches(d: K8sObject, t: PatchTarget): boolean {
  const [group, version] = d.apiVersion.includes("/") ? d.apiVersion.split("/") : ["", d.apiVersion];
  const re = (pattern: string, value: string | undefined) => new RegExp(`^(?:${pattern})$`).test(value ?? "");
  return (
    (t.group === undefined || t.group === group) &&
    (t.version === undefined || t.version === version) &&
    (t.kind === undefined || re(t.kind, d.kind)) &&
    (t.name === undefined || re(t.name, d.metadata.name)) &&
    (t.namespace === undefined || re(t.namespace, d.metadata.namespace))
  );
}

function strategicMerge(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
  builtin: boolean,
  where: string,
): void {
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) throw new KustomizeError(`${where}: directive ${key} not supported`);
    if (value === null) {
      delete target[key];
    } else if (isObject(value) && isObject(target[key])) {
      strategicMerge(target[key] as Record<string, unknown>, value, builtin, where);
    } else if (Array.isArray(value) && Array.isArray(target[key]) && builtin && MERGE_KEYS[key]) {
      const mergeKey = MERGE_KEYS[key]!;
      const list = target[key] as unknown[];
      for (const item of value) {
        const existing = isObject(item)
          ? list.find((x) => isObject(x) && x[mergeKey] === item[mergeKey])
          : undefined;
        if (isObject(existing) && isObject(item)) strategicMerge(existing, item, builtin, where);
        else list.push(structuredClone(item));
      }
    } else {
      target[key] = structuredClone(value);
    }
  }
}

interface JsonOp {
  op: string;
  path: string;
  value?: unknown;
}

function jsonPatch(doc: K8sObject, ops: JsonOp[], where: string): void {
  for (const op of ops) {
    if (!isObject(op) || typeof op.path !== "string")
      throw new KustomizeError(`${where}: malformed operation`);
    const parts = op.path
      .split("/")
      .slice(1)
      .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = parts.pop();
    if (last === undefined) throw new KustomizeError(`${where}: ${op.op} on the whole document`);
    let parent: unknown = doc;
    for (const p of parts) {
      parent = isObject(parent) || Array.isArray(parent) ? (parent as Record<string, unknown>)[p] : undefined;
      if (parent === undefined) throw new KustomizeError(`${where}: path ${op.path} does not exist`);
    }
    const list = Array.isArray(parent) ? (parent as unknown[]) : undefined;
    const map = parent as Record<string, unknown>;
    const index = last === "-" && list ? list.length : Number(last);
    const exists = list ? index < list.length : last in map;
    switch (op.op) {
      case "add":
        if (list) list.splice(index, 0, structuredClone(op.value));
        else map[last] = structuredClone(op.value);
        break;
      case "replace":
        if (!exists) throw new KustomizeError(`${where}: replace ${op.path}: no such value`);
        if (list) list[index] = structuredClone(op.value);
        else map[last] = structuredClone(op.value);
        break;
      case "remove":
        if (!exists) throw new KustomizeError(`${where}: remove ${op.path}: no such value`);
        if (list) list.splice(index, 1);
        else delete map[last];
        break;
      default:
        throw new KustomizeError(`${where}: operation ${op.op} not supported (add, replace, remove)`);
    }
  }
}

function setImages(node: unknown, img: ImageEntry): void {
  if (Array.isArray(node)) {
    for (const n of node) setImages(n, img);
    return;
  }
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if ((key === "containers" || key === "initContainers") && Array.isArray(value)) {
      for (const c of value) {
        if (!isObject(c) || typeof c.image !== "string") continue;
        const { name, tag } = splitImage(c.image);
        if (name !== img.name) continue;
        const suffix = img.digest ? `@${img.digest}` : img.newTag ? `:${img.newTag}` : tag;
        c.image = `${img.newName ?? name}${suffix}`;
      }
    } else {
      setImages(value, img);
    }
  }
}

function splitImage(image: string): { name: string; tag: string } {
  const at = image.indexOf("@");
  if (at >= 0) return { name: image.slice(0, at), tag: image.slice(at) };
  const colon = image.lastIndexOf(":");
  return colon > image.lastIndexOf("/")
    ? { name: image.slice(0, colon), tag: image.slice(colon) }
    : { name: image, tag: "" };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write("usage: npx tsx deploy/k8s/kustomize.ts <kustomization folder>\n");
    process.exit(2);
  }
  try {
    process.stdout.write(toYaml(renderKustomization(dir)));
  } catch (err) {
    process.stderr.write(`kustomize: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
