import { ALERT_IDS, findingUniqueKey, type Finding } from "../contracts/finding.js";
import {
  buildScoredFinding,
  fmt,
  formatExplanations,
  SCORED_TAIL_KEYS as BUILDER_TAIL_KEYS,
  type ModelInfo,
  type ScoredTx,
} from "./findings.js";

/**
 * The lean write path of a scored finding (issue 18): its JSON written straight from the score
 * and the features, without the object graph `buildScoredFinding` makes and `JSON.stringify`
 * walks again (together ~19 µs of the score stage's ~125 µs per transaction, plus the garbage
 * they leave). The bytes are exactly `JSON.stringify(buildScoredFinding(s, model))`:
 * test/sink-serialize.test.ts compares both over generated findings (every verdict, unusual
 * feature names, escapes, unicode), so a field added to one and not the other fails there.
 *
 * What the object literal cannot express the same way — a feature name that is an array index
 * (JSON.stringify puts those first), `__proto__`, or one repeating another metadata key — is
 * serialized by the reference itself.
 */

/** Every metadata key the reference writes beside the features (an att-model/1 finding). */
const SCORED_TAIL_KEYS = new Set<string>(["from", ...BUILDER_TAIL_KEYS, "allowlisted"]);

/** The metadata field of an allow-listed sender's or contract's finding (src/sink/findings.ts). */
const ALLOWLISTED = `,"allowlisted":"true"`;

const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

/**
 * The last feature key list seen and its `,"name":"` prefixes (undefined: the reference must
 * serialize findings with these keys). One model means one list: found again without a lookup.
 */
let lastKeys: { keys: string[]; prefixes: string[] | undefined } = { keys: [], prefixes: [] };
const scratch: string[] = [];

function featureKeys(features: Record<string, number>): string[] | undefined {
  scratch.length = 0;
  for (const name in features) scratch.push(name);
  const last = lastKeys;
  if (scratch.length === last.keys.length) {
    let same = true;
    for (let i = 0; i < scratch.length && same; i++) same = scratch[i] === last.keys[i];
    if (same) return last.prefixes;
  }
  const keys = scratch.slice();
  const plain =
    new Set(keys).size === keys.length &&
    keys.every((k) => k !== "__proto__" && !SCORED_TAIL_KEYS.has(k) && !ARRAY_INDEX.test(k));
  lastKeys = { keys, prefixes: plain ? keys.map((k) => `,${JSON.stringify(k)}:"`) : undefined };
  return lastKeys.prefixes;
}

/** JSON of a number as JSON.stringify writes it (non-finite: null). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : "null";
}

const esc = JSON.stringify as (s: string) => string;

let lastModel: { info: ModelInfo; version: string; threshold: string } | undefined;
function modelParts(m: ModelInfo): { version: string; threshold: string } {
  if (lastModel?.info.version !== m.version || lastModel.info.threshold !== m.threshold)
    lastModel = { info: { ...m }, version: esc(m.version), threshold: fmt(m.threshold) };
  return lastModel;
}

const PARTS: string[] = [];

const HEAD = {
  anomalous: `{"name":"Anomalous Transaction","description":`,
  normal: `{"name":"Normal Transaction","description":`,
};
const AFTER_DESCRIPTION = {
  anomalous: `,"alertId":"${ALERT_IDS.anomalous}","protocol":"ethereum","severity":"Critical","type":"Suspicious","metadata":{"from":`,
  normal: `,"alertId":"${ALERT_IDS.normal}","protocol":"ethereum","severity":"Info","type":"Info","metadata":{"from":`,
};

/**
 * A scored transaction's finding, serialized. Its routing fields (alertId, uniqueKey) are at
 * hand; the rest reads from its JSON, parsed on first use (`att tx` prints a finding; the stream
 * only routes and counts them).
 */
export function serializeScoredFinding(s: ScoredTx, model: ModelInfo): SerializedFinding {
  const prefixes = featureKeys(s.features);
  const tx = s.tx;
  const a = s.anomalous;
  const alertId = a ? ALERT_IDS.anomalous : ALERT_IDS.normal;
  const uniqueKey = findingUniqueKey({
    chainId: tx.chainId,
    txHash: tx.txHash,
    alertId,
    modelVersion: model.version,
  });
  // What the literal below does not write goes through the reference: an att-model/2 model's
  // labels and score kind (issue 15), and the unusual inputs named at the top of this file.
  if (
    model.scoreKind !== undefined ||
    !prefixes ||
    typeof s.maxSingleTokenName !== "string" ||
    typeof model.version !== "string" ||
    !Array.isArray(s.tokenTypes)
  )
    return new SerializedFinding(JSON.stringify(buildScoredFinding(s, model)), alertId, uniqueKey);
  const m = modelParts(model);
  const from = esc(tx.from);
  const kind = a ? "anomalous" : "normal";
  // Pieces joined once at the end: the JSON is one flat string at once. (Appending with += would
  // leave a rope of ~100 small strings per finding alive until Kafka encodes it, which the
  // garbage collector then copies and promotes: measured twice the GC time of the reference.)
  const out = PARTS;
  out.length = 0;
  out.push(
    `${HEAD[kind]}${esc(`${tx.from} executed ${kind} tx with token transfers`)}${AFTER_DESCRIPTION[kind]}${from}`,
  );
  let i = 0;
  for (const name in s.features) out.push(prefixes[i++]!, fmt(s.features[name]!), '"');
  out.push(
    `,"max_single_token_transfers_name":${esc(s.maxSingleTokenName)},"token_types":${esc(JSON.stringify(s.tokenTypes))},"prediction":"${a ? "ANOMALY" : "NORMAL"}","anomaly_score":"${fmt(s.score)}","anomaly_threshold":"${m.threshold}","model_version":${m.version},"feature_generation_response_time_sec":"${fmt(s.featureTimeSec)}","model_pred_response_time_sec":"${fmt(s.modelTimeSec)}","model_explanations":${esc(formatExplanations(s.explanations))}${s.allowlisted ? ALLOWLISTED : ""}},"addresses":[${from}],"labels":[`,
  );
  const txHash = esc(tx.txHash);
  if (a) {
    const confidence = Math.min(1, Math.max(0, Number(s.score.toFixed(6))));
    out.push(
      `{"entityType":"Transaction","entity":${txHash},"label":"attacker","confidence":${num(confidence)},"remove":false,"metadata":{"custom_value":"anomalous","model_version":${m.version}}}`,
    );
  }
  const chainId = num(tx.chainId);
  out.push(
    `],"uniqueKey":"${uniqueKey}","source":{"transactions":[{"chainId":${chainId},"hash":${txHash}}],"blocks":[{"chainId":${chainId},"hash":${esc(tx.blockHash)},"number":${num(tx.blockNumber)}}]},"timestamp":"${new Date(tx.blockTimestamp * 1000).toISOString()}"}`,
  );
  return new SerializedFinding(out.join(""), alertId, uniqueKey);
}

/**
 * A finding held as its JSON (`value`, what is produced): alertId and uniqueKey as fields, every
 * other field parsed from the JSON when first read; `JSON.stringify` of it prints that JSON's
 * object.
 */
export class SerializedFinding implements Finding {
  #parsed: Finding | undefined;
  constructor(
    readonly value: string,
    readonly alertId: string,
    readonly uniqueKey: string,
  ) {}
  /** The finding as a plain object (parsed from `value` once). */
  toJSON(): Finding {
    return (this.#parsed ??= JSON.parse(this.value) as Finding);
  }
  get name() {
    return this.toJSON().name;
  }
  get description() {
    return this.toJSON().description;
  }
  get protocol() {
    return this.toJSON().protocol;
  }
  get severity() {
    return this.toJSON().severity;
  }
  get type() {
    return this.toJSON().type;
  }
  get metadata() {
    return this.toJSON().metadata;
  }
  get addresses() {
    return this.toJSON().addresses;
  }
  get labels() {
    return this.toJSON().labels;
  }
  get source() {
    return this.toJSON().source;
  }
  get timestamp() {
    return this.toJSON().timestamp;
  }
}

/** A plain Finding object for code that copies or rebuilds one (shrinkToFit). */
export function plainFinding(f: Finding): Finding {
  return f instanceof SerializedFinding ? f.toJSON() : f;
}
