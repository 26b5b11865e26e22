// The simulated workloads' Istio request metrics as Prometheus scrapes them (the fleet benchmark's process mode,
// where the planner is a process of its own and reads them from the test env's Prometheus):
// one scrape path per cluster, counters that grow by what the cluster's Ready pods served since the last scrape.
// The traffic is the embedded demo's (`simulatedTraffic`: requests per Ready pod, error ratio, each workload's
// own p99, a few percent higher on the new revision), so both modes' metric gates judge the same mesh. Only the
// labels the planner's PromQL reads are emitted (reporter, cluster, destination workload and namespace, response
// code), with Istio's default latency bucket bounds up to 1 s: a scrape of 1,000 workloads stays near 1 MB.
import type { SimulatedCluster } from '@meshwave/cluster-agent';
import {
  DEFAULT_SIMULATED_MESH_METRICS,
  simulatedTraffic,
  type SimulatedMeshMetricsOptions,
} from './simulated-mesh-metrics.js';

/** Istio's default bounds of istio_request_duration_milliseconds, from 5 ms to 1 s */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000];

/**
 * The indices (into LATENCY_BUCKETS_MS) of the bounds histogram_quantile needs to read back every p99 these options
 * give (each workload's base p99 ±5 %, times the new revision's factor): from the bound under the lowest p99's bucket
 * to the highest p99's bucket. Prometheus interpolates inside the bucket that holds the rank, between its bound and
 * the one under it, so the other bounds change no p99 read back (ADR 0065: a fleet of 100,000 workloads has 5 series
 * each instead of 11).
 */
export function neededLatencyBuckets(options: SimulatedMeshMetricsOptions): number[] {
  const lowest = options.baseP99Ms * 0.95 * Math.min(1, options.newRevisionP99Factor);
  const highest = options.baseP99Ms * 1.05 * Math.max(1, options.newRevisionP99Factor);
  const first = Math.max(0, bucketSplit(lowest).index - 1);
  const last = Math.min(LATENCY_BUCKETS_MS.length - 1, bucketSplit(highest).index);
  return LATENCY_BUCKETS_MS.map((_, i) => i).filter((i) => i >= first && i <= last);
}

interface Counters {
  ok: number;
  errors: number;
  /** requests not yet answered 5xx: keeps the error ratio exact across scrapes */
  errorCarry: number;
  /** cumulative per bound of LATENCY_BUCKETS_MS, then +Inf */
  buckets: number[];
  /** its series in the exposition up to the value, built at its first scrape */
  names?: string[];
}

/**
 * Where in the buckets a batch of requests goes so that histogram_quantile(0.99) reads back `p99Ms`: a share
 * below the bound under p99 and the rest in p99's bucket (linear interpolation inside a bucket is what
 * Prometheus does). Returns the bucket index of p99 and the share below it.
 */
export function bucketSplit(p99Ms: number): { index: number; below: number } {
  const index = LATENCY_BUCKETS_MS.findIndex((le) => p99Ms <= le);
  if (index < 0) return { index: LATENCY_BUCKETS_MS.length, below: 0.99 };
  const lower = index === 0 ? 0 : LATENCY_BUCKETS_MS[index - 1]!;
  const r = (p99Ms - lower) / (LATENCY_BUCKETS_MS[index]! - lower);
  // 0.99 of the requests lie at or below p99: (0.99 - below) / (1 - below) = r
  return { index, below: Math.max(0, (0.99 - r) / (1 - r)) };
}

export class SimulatedIstioExposition {
  /** per cluster, per `cluster/namespace/name`: a scrape of one cluster never walks another's */
  private readonly counters = new Map<string, Map<string, Counters>>();
  private readonly lastScrape = new Map<string, number>();
  private readonly byName: ReadonlyMap<string, SimulatedCluster>;
  private readonly namespacesOf: (cluster: string) => readonly string[];
  /** the revision the rollout moves to: its pods answer a little slower */
  private readonly to: string;
  private readonly options: SimulatedMeshMetricsOptions;
  /**
   * the label naming a series' cluster (the planner's MESHWAVE_PROMETHEUS_CLUSTER_LABEL): a name of its own per
   * benchmark run keeps the planner's queries to this run's series in a Prometheus that still holds earlier runs'
   */
  private readonly clusterLabel: string;
  /** the indices of LATENCY_BUCKETS_MS exposed (+Inf always) */
  private readonly exposedBuckets: readonly number[];

  constructor(
    clusters: readonly SimulatedCluster[],
    namespacesOf: (cluster: string) => readonly string[],
    to: string,
    options: SimulatedMeshMetricsOptions = DEFAULT_SIMULATED_MESH_METRICS,
    clusterLabel = 'cluster',
    /** every bound of Istio's, or only those the p99s of `options` need (`neededLatencyBuckets`) */
    latencyBuckets: 'all' | 'needed' = 'all',
  ) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(clusterLabel))
      throw new RangeError(`"${clusterLabel}" is not a Prometheus label name`);
    this.byName = new Map(clusters.map((c) => [c.name, c]));
    this.namespacesOf = namespacesOf;
    this.to = to;
    this.options = options;
    this.clusterLabel = clusterLabel;
    this.exposedBuckets =
      latencyBuckets === 'all' ? LATENCY_BUCKETS_MS.map((_, i) => i) : neededLatencyBuckets(options);
  }

  has(cluster: string): boolean {
    return this.byName.has(cluster);
  }

  /** The exposition of one cluster's workloads, their counters first brought up to now. */
  render(cluster: string, nowMs: number): string {
    const seconds = (nowMs - (this.lastScrape.get(cluster) ?? nowMs - 1000)) / 1000;
    this.lastScrape.set(cluster, nowMs);
    const targets = this.namespacesOf(cluster).map((namespace) => ({ unit: '', cluster, namespace }));
    const traffic = simulatedTraffic(this.byName, this.options, targets, { seconds, to: this.to, asBefore: false });
    let counters = this.counters.get(cluster);
    if (counters === undefined) this.counters.set(cluster, (counters = new Map()));
    for (const t of traffic) this.add(counters, t.workload, t.requests, t.p99Ms);
    const requests = ['# TYPE istio_requests_total counter'];
    const latency = ['# TYPE istio_request_duration_milliseconds histogram'];
    for (const [workload, c] of counters) {
      // a workload's series names are the same every scrape: built once (a fleet's scrapes render 100,000 of them)
      const names = (c.names ??= this.seriesNamesOf(cluster, workload));
      requests.push(names[0]! + c.ok, names[1]! + c.errors);
      this.exposedBuckets.forEach((b, i) => latency.push(names[i + 2]! + c.buckets[b]!));
      latency.push(names.at(-1)! + c.buckets.at(-1));
    }
    return `${requests.join('\n')}\n${latency.join('\n')}\n`;
  }

  /** Each exposed series of a workload up to its value: 200 and 503 requests, each exposed bound, +Inf. */
  private seriesNamesOf(cluster: string, workload: string): string[] {
    const [, namespace, name] = workload.split('/');
    const base = `reporter="destination",${this.clusterLabel}="${cluster}",destination_workload_namespace="${namespace}",destination_workload="${name}"`;
    return [
      `istio_requests_total{${base},response_code="200"} `,
      `istio_requests_total{${base},response_code="503"} `,
      ...this.exposedBuckets.map(
        (i) => `istio_request_duration_milliseconds_bucket{${base},le="${LATENCY_BUCKETS_MS[i]}"} `,
      ),
      `istio_request_duration_milliseconds_bucket{${base},le="+Inf"} `,
    ];
  }

  private add(counters: Map<string, Counters>, workload: string, requests: number, p99Ms: number | undefined): void {
    let c = counters.get(workload);
    if (c === undefined) {
      c = { ok: 0, errors: 0, errorCarry: 0, buckets: Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) };
      counters.set(workload, c);
    }
    c.errorCarry += requests * this.options.errorRatio;
    const errors = Math.floor(c.errorCarry);
    c.errorCarry -= errors;
    c.errors += errors;
    c.ok += requests - errors;
    // simulatedTraffic gives every workload with Ready pods its p99; without one the batch has no latency to record
    if (p99Ms === undefined) return;
    const { index, below } = bucketSplit(p99Ms);
    // unrounded (a counter may hold a fraction): a rounded share would move the p99 read back by several ms
    const under = requests * below;
    // cumulative: bounds under p99's bucket count the share below it, the others the whole batch
    for (let i = 0; i < c.buckets.length; i++) c.buckets[i]! += i < index ? under : requests;
  }
}
