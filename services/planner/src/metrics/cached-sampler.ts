// The one way a metrics backend reaches the engine: the rollout's MetricQuery (pure), then samples fetched at most
// once per wave, window and `cacheMs`. Reconciles come in bursts (one per agent report: hundreds a second at fleet
// scale), and a metrics backend answers for the whole wave, so a fetch per reconcile would cost the planner work
// proportional to the fleet for every report (issue 15).
import { metricQueryOf } from '../core/metric-query.js';
import type { MetricObservation, MetricQuery } from '../core/metric-samples.js';
import type { RolloutRecord, RolloutState } from '../core/rollout-state.js';

/** What a reconcile gets of the metrics backend, at once: the engine's `metrics` and `metricsPending`. */
export interface MetricSample {
  /** the newest completed sample of the current wave's query (undefined: none has arrived yet) */
  readonly observation?: MetricObservation;
  /** no sample of the query as it stands now, younger than the cache, has arrived yet: one is being fetched */
  readonly pending: boolean;
}

export interface MetricSampler {
  /**
   * Samples for the rollout's current wave; undefined when no metric gate is being evaluated now. Never waits for
   * the backend: a reconcile may be publishing a halt (a reported failure must not wait for a query). A sample not
   * fresh enough is fetched in the background and `refreshed` is called when it (or its failure) arrives.
   */
  sample(record: RolloutRecord, state: RolloutState, now: Date, refreshed: () => void): MetricSample | undefined;
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
  /** by rollout: the newest sample that arrived; `askedAt` is the instant it was evaluated at (the query's now) */
  const cache = new Map<string, Fetched & { at: number; observation: MetricObservation }>();
  /** background fetches in flight, by rollout: one at a time, unless a final verdict needs a newer one */
  const fetching = new Map<string, Fetched>();
  /** a background fetch that failed: thrown to the next reconcile of its rollout (retried, logged there) */
  const failures = new Map<string, unknown>();
  return {
    sample(record, state, now, refreshed) {
      const query = metricQueryOf(record, state, now, options.maxWindowSeconds);
      if (query === undefined) {
        cache.delete(record.id);
        return undefined;
      }
      const failure = failures.get(record.id);
      if (failures.delete(record.id)) throw failure;
      // the cohorts' sizes change with an exclusion or a dispatch: a sample of other units is not reused
      const key = `${query.wave}@${query.windowStart}#${query.current.length}/${query.baseline.length}`;
      // A final verdict may be due: it is judged on a sample evaluated since `judgedFrom` (the whole soak in its
      // window, or newer than the retry of a verdict that could not judge), however young an older one is.
      const judgedFrom = query.judgedFrom !== undefined ? Date.parse(query.judgedFrom) : undefined;
      const due = judgedFrom !== undefined && now.getTime() >= judgedFrom;
      const serves = (f: Fetched | undefined): boolean =>
        f !== undefined && f.key === key && (!due || f.askedAt >= judgedFrom);
      const hit = cache.get(record.id);
      const same = hit !== undefined && hit.key === key ? hit : undefined;
      if (serves(same) && clock() - same!.at < options.cacheMs)
        return { observation: same!.observation, pending: false };
      // No reconcile waits for the backend (a slow query held every reconcile of the rollout: a reported failure's
      // halt waited for Prometheus, up to its timeout): watches judge on the last sample, a final verdict waits for
      // this one (the engine's metricsPending), and its arrival reconciles the rollout again.
      if (!serves(fetching.get(record.id))) {
        const asked: Fetched = { key, askedAt: now.getTime() };
        fetching.set(record.id, asked);
        const done = (): void => {
          if (fetching.get(record.id) === asked) fetching.delete(record.id);
          refreshed();
        };
        fetch(query, now, record).then(
          (observation) => {
            // an older fetch that arrives after a newer one never replaces it
            const newest = cache.get(record.id);
            if (newest === undefined || newest.key !== key || newest.askedAt <= asked.askedAt)
              cache.set(record.id, { ...asked, at: clock(), observation });
            done();
          },
          (error: unknown) => {
            failures.set(record.id, error);
            done();
          },
        );
      }
      return { ...(same !== undefined ? { observation: same.observation } : {}), pending: true };
    },
  };
}

/** A query asked of the backend: its cohorts and window (`key`) and the instant it was evaluated at. */
interface Fetched {
  readonly key: string;
  readonly askedAt: number;
}
