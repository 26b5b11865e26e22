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

export type { MetricSample, MetricSampler } from './cached-sampler.js';

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

/** A regex alternative matching exactly `value` (RE2 syntax), as a PromQL string body. */
function literal(value: string): string {
  return value.replace(/[\\.^$|?*+()[\]{}]/g, '\\$&').replace(/[\\"]/g, '\\$&');
}

function alternatives(values: Iterable<string>): string {
  return [...new Set(values)].sort().map(literal).join('|');
}

interface Grouping {
  readonly selector: string;
  readonly by: string;
}

/**
 * Up to this many workload names are matched by name in the query (sent in a POST body); a cohort of more, or one
 * with a namespace unit, is matched by namespace and picked out of the answer per workload.
 */
export const MAX_NAMED_WORKLOADS = 500;

function groupingOf(targets: readonly MetricTarget[], clusterLabel: string | undefined): Grouping {
  // A wave of a few workloads in busy namespaces must not read every series of those namespaces (fleet scale:
  // a canary of 31 workloads read 9,000 workloads' latency buckets).
  const names = new Set(targets.map((t) => t.name));
  const byName = !names.has(undefined) && names.size <= MAX_NAMED_WORKLOADS;
  const matchers = [
    'reporter="destination"',
    `destination_workload_namespace=~"${alternatives(targets.map((t) => t.namespace))}"`,
    ...(byName ? [`destination_workload=~"${alternatives(targets.map((t) => t.name ?? ''))}"`] : []),
    ...(clusterLabel ? [`${clusterLabel}=~"${alternatives(targets.map((t) => t.cluster))}"`] : []),
  ];
  return {
    selector: matchers.join(','),
    by: [...(clusterLabel ? [clusterLabel] : []), 'destination_workload_namespace', 'destination_workload'].join(','),
  };
}

/**
 * The label Prometheus's pod scrape gives a pod's `istio.io/rev` (a `labelmap` of the pod's labels, as Istio's and
 * the Prometheus chart's scrape configurations do): a gateway's requests are told apart by the revision of the pods
 * that served them (ADR 0050).
 */
export const GATEWAY_REVISION_LABEL = 'istio_io_rev';
/** The label the same scrape gives the pod's name: a gateway's p99 is compared pod by pod (ADR 0050). */
export const GATEWAY_POD_LABEL = 'pod';

/**
 * A cohort of gateways: their own requests (a gateway reports the requests it forwards as the source), served by
 * pods on the cohort's revisions, whichever of each gateway's Deployments (the gateway, its canary copy) ran them.
 */
function gatewayGroupingOf(targets: readonly MetricTarget[], clusterLabel: string | undefined): Grouping {
  const matchers = [
    'reporter="source"',
    `source_workload_namespace=~"${alternatives(targets.map((t) => t.namespace))}"`,
    `source_workload=~"${alternatives(targets.flatMap((t) => t.gateway?.workloads ?? []))}"`,
    `${GATEWAY_REVISION_LABEL}=~"${alternatives(targets.map((t) => t.gateway?.revision ?? ''))}"`,
    ...(clusterLabel ? [`${clusterLabel}=~"${alternatives(targets.map((t) => t.cluster))}"`] : []),
  ];
  return {
    selector: matchers.join(','),
    // per pod: the statistical test compares the p99 of each new pod with each old one's (a gateway is one workload)
    by: [
      ...(clusterLabel ? [clusterLabel] : []),
      'source_workload_namespace',
      'source_workload',
      GATEWAY_POD_LABEL,
    ].join(','),
  };
}

/** PromQL of the three instant queries, exported for the ADR's examples and tests. */
export function promqlOf(
  targets: readonly MetricTarget[],
  windowSeconds: number,
  clusterLabel?: string,
): { requests: string; errors: string; p99: string } {
  const g = targets.some((t) => t.gateway !== undefined)
    ? gatewayGroupingOf(targets, clusterLabel)
    : groupingOf(targets, clusterLabel);
  const range = `[${windowSeconds}s]`;
  return {
    requests: `sum by (${g.by}) (increase(istio_requests_total{${g.selector}}${range}))`,
    // only the workloads that answered 5xx in the window: a workload without any has 0 errors either way, and a
    // fleet's cohort of 81,000 workloads would otherwise come back as 81,000 zeros to parse (issue 15)
    errors: `sum by (${g.by}) (increase(istio_requests_total{${g.selector},response_code=~"5.."}${range})) > 0`,
    p99: `histogram_quantile(0.99, sum by (${g.by},le) (rate(istio_request_duration_milliseconds_bucket{${g.selector}}${range})))`,
  };
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
    const q = promqlOf(counted, windowSeconds, options.clusterLabel);
    const p99 = withLatency ? promqlOf(sampled, windowSeconds, options.clusterLabel).p99 : undefined;
    const [requests, errors, latencies] = await Promise.all([
      options.client.query(q.requests, at, timeoutMs),
      withErrors ? options.client.query(q.errors, at, timeoutMs) : Promise.resolve([]),
      p99 !== undefined && sampled.length > 0 ? options.client.query(p99, at, timeoutMs) : Promise.resolve([]),
    ]);
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

  return cachedMetricSampler(fetchSamples, options);
}
