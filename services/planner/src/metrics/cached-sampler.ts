// The one way a metrics backend reaches the engine: the rollout's MetricQuery (pure), then samples fetched at most
// once per wave, window and `cacheMs`. Reconciles come in bursts (one per agent report: hundreds a second at fleet
// scale), and a metrics backend answers for the whole wave, so a fetch per reconcile would cost the planner work
// proportional to the fleet for every report (issue 15).
import { metricQueryOf } from '../core/metric-query.js';
import type { MetricObservation, MetricQuery } from '../core/metric-samples.js';
import type { RolloutRecord, RolloutState } from '../core/rollout-state.js';

export interface MetricSampler {
  /** Samples for the rollout's current wave; undefined when no metric gate is being evaluated now. */
  sample(record: RolloutRecord, state: RolloutState, now: Date): Promise<MetricObservation | undefined>;
}

export interface CachedSamplerOptions {
  /** longest evaluation window (e.g. 300 for 5m); shorter while a wave has soaked less */
  readonly maxWindowSeconds: number;
  /** a wave's samples are reused this long */
  readonly cacheMs: number;
  /** wall-clock milliseconds (the cache's age; injected in tests) */
  readonly clock?: () => number;
}

/** A MetricSampler over `fetch`, which answers one query (errors the backend can explain become observations). */
export function cachedMetricSampler(
  fetch: (query: MetricQuery, now: Date, record: RolloutRecord) => Promise<MetricObservation>,
  options: CachedSamplerOptions,
): MetricSampler {
  const clock = options.clock ?? Date.now;
  const cache = new Map<string, { key: string; at: number; observation: MetricObservation }>();
  return {
    async sample(record, state, now) {
      const query = metricQueryOf(record, state, now, options.maxWindowSeconds);
      if (query === undefined) {
        cache.delete(record.id);
        return undefined;
      }
      // the cohorts' sizes change with an exclusion or a dispatch: a sample of other units is not reused
      const key = `${query.wave}@${query.windowStart}#${query.current.length}/${query.baseline.length}`;
      const hit = cache.get(record.id);
      if (hit !== undefined && hit.key === key && clock() - hit.at < options.cacheMs) return hit.observation;
      const observation = await fetch(query, now, record);
      cache.set(record.id, { key, at: clock(), observation });
      return observation;
    },
  };
}
