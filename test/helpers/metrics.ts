import type { Registry } from "../../src/kernel/metrics.js";

/** The value of one series of a metric in `registry` (0 when the series does not exist yet). */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => String(x.labels[k]) === val));
  return v?.value ?? 0;
}
