// The latency gate compares distributions (the median of per-workload p99s, and a Mann–Whitney rank test): a
// bounded sample of each cohort answers that as well as every workload, while the p99 query over every workload
// of a 100,000-unit fleet outlasts the Prometheus timeout (ADR 0048). The error rate stays whole: one failing
// workload must not go unseen.
import { stableHash } from '@meshwave/plan';
import type { MetricTarget } from './metric-samples.js';

/** At most this many units of each latency cohort (the wave, the old revision) are queried for their p99. */
export const LATENCY_SAMPLE_LIMIT = 200;

const SALT = 'meshwave-latency-sample';

/**
 * The `limit` targets of lowest stable hash of their unit key: the same units on every evaluation while the
 * cohort is the same, whatever order it comes in (a unit that joins or leaves changes the sample by one at most).
 */
export function latencySampleOf(
  targets: readonly MetricTarget[],
  limit: number = LATENCY_SAMPLE_LIMIT,
): readonly MetricTarget[] {
  if (targets.length <= limit) return targets;
  return targets
    .map((t) => ({ t, rank: stableHash(SALT, t.unit) }))
    .sort((a, b) => a.rank - b.rank || (a.t.unit < b.t.unit ? -1 : a.t.unit > b.t.unit ? 1 : 0))
    .slice(0, limit)
    .map((r) => r.t);
}
