import type { Registry } from "../../src/kernel/metrics.js";

/**
 * The value of one series of a metric in `registry` (0 when the series does not exist yet).
 * A histogram's `<name>_count`, `_sum` and `_bucket` series are found under `<name>`.
 */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const all = await registry.getMetricsAsJSON();
  const base = name.replace(/_(count|sum|bucket)$/, "");
  const m = all.find((x) => x.name === name) ?? all.find((x) => x.name === base);
  const v = (
    m?.values as { value: number; labels: Record<string, unknown>; metricName?: string }[] | undefined
  )?.find(
    (x) =>
      (m!.name === name || x.metricName === name) &&
      Object.entries(labels).every(([k, val]) => String(x.labels[k]) === val),
  );
  return v?.value ?? 0;
}
