import { ALERT_IDS } from "../../contracts/finding.js";
import { createCsvFile } from "../../kernel/csv.js";
import { ValidationError } from "../../kernel/errors.js";
import type { KeptFinding } from "./collect.js";

/**
 * Columns before the features. `att model train` (model-tools/att_model/data.py) treats every
 * column except these as a feature, so their names must stay in its NON_FEATURE_COLUMNS.
 */
export const EXPORT_ID_COLUMNS = [
  "tx_hash",
  "block_number",
  "block_timestamp",
  "from_address",
  "prediction",
  "score",
];

/**
 * Writes the scored transactions' feature rows as the CSV `att model train` reads: a header of
 * named columns, the feature values exactly as the findings carried them (the retraining loop).
 * INVALID findings and rows missing a feature are left out. Returns the number of rows.
 */
export async function exportFeatureCsv(
  path: string,
  findings: Iterable<KeptFinding>,
  features: string[],
): Promise<number> {
  const reserved = features.filter((f) => EXPORT_ID_COLUMNS.includes(f));
  if (reserved.length) {
    throw new ValidationError(
      `Cannot export: feature name(s) ${reserved.join(", ")} collide with id columns`,
    );
  }
  const out = createCsvFile(path);
  let rows = 0;
  await out.write([...EXPORT_ID_COLUMNS, ...features]);
  for (const f of findings) {
    if (f.alertId === ALERT_IDS.invalid || f.score === undefined || !f.featureText) continue;
    if (f.featureText.length !== features.length) continue;
    const id = [
      f.txHash ?? "",
      f.blockNumber === undefined ? "" : String(f.blockNumber),
      f.blockTime === undefined ? "" : String(f.blockTime),
      f.from ?? "",
      f.alertId === ALERT_IDS.anomalous ? "ANOMALY" : "NORMAL",
      String(f.score),
    ];
    await out.write([...id, ...f.featureText]);
    rows += 1;
  }
  await out.close();
  return rows;
}
