// The metric gates' adapter: turns a rollout's MetricQuery (pure, from the engine) into PromQL over Istio's
// standard metrics, runs it against Prometheus and hands the engine samples, or why there are none.
import {
  MetricObservationKind,
  metricSamplesFor,
  type MetricObservation,
  type MetricQuery,
  type MetricTarget,
  type WorkloadTraffic,
} from '../core/metric-samples.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import type { PrometheusClient, VectorSample } from './prometheus-client.js';
import { cachedMetricSampler, type MetricSampler } from './cached-sampler.js';
import { GATEWAY_POD_LABEL, promqlOf } from './cohort-promql.js';

export type { MetricSample, MetricSampler } from './cached-sampler.js';
export {
  GATEWAY_POD_LABEL,
  GATEWAY_REVISION_LABEL,
  MAX_NAMED_WORKLOADS,
  MAX_SELECTOR_CHARS,
  promqlOf,
  type CohortPromql,
} from './cohort-promql.js';

export interface MetricSamplerOptions {
  readonly client: PrometheusClient;
  /**
   * Label naming the cluster of a series in a Prometheus that sees several clusters (federation or remote write
   * adding e.g. `cluster`); without it series are matched on namespace and workload only.
   */
  readonly clusterLabel?: string;
  /** longest evaluation window (e.g. 300 for 5m); shorter while a wave has soaked less */
  readonly maxWindowSeconds: number;
  /** a wave's samples are reused this long: reconciles come in bursts (one per agent report) */
  readonly cacheMs: number;
  /** the client's own query timeout (`MESHWAVE_PROMETHEUS_TIMEOUT_MS`): the first a sample's queries get */
  readonly timeoutMs?: number;
  /** wall-clock milliseconds (the cache's age; injected in tests) */
  readonly clock?: () => number;
}

/**
 * A sample whose queries timed out is fetched again with twice the time, up to this many times the configured
 * timeout (and with half again after an answer in less than half of it): the same query cut off at the same timeout never answers while Prometheus stays that slow (a loaded
 * Prometheus took 6 to 9 s; every retry was cut off at 5 s, and the wave's gate never judged).
 */
export const MAX_TIMEOUT_GROWTH = 8;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * At most this many of a cohort's queries wait on Prometheus at once: a wave of 8,700 workloads is 18 parts of three
 * queries (ADR 0074); all at once they would compete with each other for Prometheus's cores and time out together.
 */
export const MAX_CONCURRENT_QUERIES = 4;

/** `run` of each item, at most `limit` at once; the results in the items' order. */
async function inTurns<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await run(items[i]!);
      } catch (error) {
        failed = true; // the cohort cannot be judged: ask no more of its parts
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Matches series to the query's targets: a workload target by its name, a namespace target by every workload in it,
 * a gateway target by each of its Deployments.
 */
class TargetIndex {
  /** `cluster/namespace/name` (name `*` for a namespace target) → unit key */
  private readonly keys = new Map<string, string>();

  constructor(
    targets: readonly MetricTarget[],
    private readonly clusterLabel: string | undefined,
    private readonly side: 'destination' | 'source' = 'destination',
  ) {
    for (const t of targets) {
      for (const name of t.gateway?.workloads ?? [t.name ?? '*']) {
        const key = `${clusterLabel ? t.cluster : ''}/${t.namespace}/${name}`;
        if (!this.keys.has(key)) this.keys.set(key, t.unit);
      }
    }
  }

  /** `cluster/namespace/workload` of a series and the unit it belongs to, when it belongs to a target */
  workloadOf(metric: Readonly<Record<string, string>>): { workload: string; unit: string } | undefined {
    const cluster = this.clusterLabel ? (metric[this.clusterLabel] ?? '') : '';
    const ns = metric[`${this.side}_workload_namespace`] ?? '';
    const name = metric[`${this.side}_workload`] ?? '';
    const unit = this.keys.get(`${cluster}/${ns}/${name}`) ?? this.keys.get(`${cluster}/${ns}/*`);
    const pod = this.side === 'source' ? metric[GATEWAY_POD_LABEL] : undefined;
    return unit === undefined ? undefined : { workload: `${cluster}/${ns}/${pod ?? name}`, unit };
  }
}

interface Entry {
  unit: string;
  requests: number;
  errors: number;
  p99Ms?: number;
}

function trafficOf(
  index: TargetIndex,
  requests: readonly VectorSample[],
  errors: readonly VectorSample[],
  p99: readonly VectorSample[],
): WorkloadTraffic[] {
  const byWorkload = new Map<string, Entry>();
  const entry = (w: { workload: string; unit: string }): Entry => {
    let e = byWorkload.get(w.workload);
    if (e === undefined) byWorkload.set(w.workload, (e = { unit: w.unit, requests: 0, errors: 0 }));
    return e;
  };
  for (const s of requests) {
    const w = index.workloadOf(s.metric);
    if (w !== undefined && Number.isFinite(s.value)) entry(w).requests += s.value;
  }
  for (const s of errors) {
    const w = index.workloadOf(s.metric);
    if (w !== undefined && Number.isFinite(s.value)) entry(w).errors += s.value;
  }
  for (const s of p99) {
    const w = index.workloadOf(s.metric);
    // NaN: no request in the window; +Inf: beyond the last finite bucket — neither is a latency to compare
    if (w !== undefined && Number.isFinite(s.value)) entry(w).p99Ms = s.value;
  }
  return [...byWorkload.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([workload, e]) => ({ workload, ...e }));
}

export function createMetricSampler(options: MetricSamplerOptions): MetricSampler {
  return cachedMetricSampler(createMetricFetcher(options), options);
}

/** Fetches one query's samples from Prometheus, uncached (`createMetricSampler` caches it; tests ask it directly). */
export function createMetricFetcher(
  options: Omit<MetricSamplerOptions, 'cacheMs'>,
): (q: MetricQuery, now: Date) => Promise<MetricObservation> {
  if (options.clusterLabel !== undefined && !LABEL_NAME.test(options.clusterLabel))
    throw new RangeError(`"${options.clusterLabel}" is not a Prometheus label name`);

  /**
   * Requests (and 5xx when asked) of `counted`, the p99 of `sampled` (a subset of it): the error rate sees every
   * workload of the wave, the latency gate a bounded sample of each cohort (ADR 0048).
   */
  async function cohort(
    counted: readonly MetricTarget[],
    sampled: readonly MetricTarget[],
    windowSeconds: number,
    at: Date,
    withErrors: boolean,
    withLatency: boolean,
    timeoutMs: number | undefined,
  ): Promise<WorkloadTraffic[]> {
    if (counted.length === 0) return [];
    // a gateway step's cohorts are gateways only, a wave's workloads only (metric-query.ts, gateway-metrics.ts)
    const side = counted.some((t) => t.gateway !== undefined) ? 'source' : 'destination';
    // every part's queries: the requests (and 5xx) of the counted workloads, the p99 of the sampled ones
    const queries = [
      ...promqlOf(counted, windowSeconds, options.clusterLabel).flatMap((q) => [
        { kind: 'requests' as const, promql: q.requests },
        ...(withErrors ? [{ kind: 'errors' as const, promql: q.errors }] : []),
      ]),
      ...(withLatency
        ? promqlOf(sampled, windowSeconds, options.clusterLabel).map((q) => ({ kind: 'p99' as const, promql: q.p99 }))
        : []),
    ];
    const answers = await inTurns(queries, MAX_CONCURRENT_QUERIES, (q) =>
      options.client.query(q.promql, at, timeoutMs),
    );
    const of = (kind: string): VectorSample[] => answers.flatMap((a, i) => (queries[i]!.kind === kind ? a : []));
    const [requests, errors, latencies] = [of('requests'), of('errors'), of('p99')];
    return trafficOf(new TargetIndex(counted, options.clusterLabel, side), requests, errors, latencies);
  }

  const clock = options.clock ?? Date.now;
  /**
   * How many times the configured timeout the next sample's queries get: doubled after a timeout, halved after an
   * answer that took less than half its time. A Prometheus that needed 8 s keeps getting 10 s: set back to 5 s after
   * each answer, every other sample would be cut off again.
   */
  let growth = 1;

  async function fetchSamples(q: MetricQuery, now: Date): Promise<MetricObservation> {
    if (q.windowSeconds < 1) return metricSamplesFor({ ...q, baselineAt: undefined }, [], []);
    const timeoutMs = options.timeoutMs === undefined ? undefined : options.timeoutMs * growth;
    const started = clock();
    try {
      const [current, baseline] = await Promise.all([
        cohort(
          q.errorRate ? q.current : q.latencyCurrent,
          q.latencyCurrent,
          q.windowSeconds,
          now,
          q.errorRate,
          q.latency,
          timeoutMs,
        ),
        q.latency
          ? cohort(
              q.baseline,
              q.baseline,
              q.windowSeconds,
              q.baselineAt !== undefined ? new Date(q.baselineAt) : now,
              false,
              true,
              timeoutMs,
            )
          : Promise.resolve([]),
      ]);
      if (timeoutMs !== undefined && clock() - started < timeoutMs / 2) growth = Math.max(1, growth / 2);
      return metricSamplesFor(q, current, baseline);
    } catch (error) {
      if (!(error instanceof PlannerError)) throw error;
      if (error.code === PlannerErrorCode.PrometheusTimeout) growth = Math.min(MAX_TIMEOUT_GROWTH, growth * 2);
      return { kind: MetricObservationKind.Unavailable, wave: q.wave, code: error.code, message: error.message };
    }
  }

  return fetchSamples;
}
