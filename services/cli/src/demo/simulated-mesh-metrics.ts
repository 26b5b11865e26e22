import { injectedRevisionOf, type SimulatedCluster } from '@meshwave/cluster-agent';
import { WorkloadKind } from '@meshwave/contracts';
import { stableHash } from '@meshwave/plan';
import {
  cachedMetricSampler,
  metricSamplesFor,
  type MetricSampler,
  type MetricTarget,
  type WorkloadTraffic,
} from '@meshwave/planner';

/**
 * The embedded demo's stand-in for Prometheus: the Istio request metrics its simulated workloads would produce,
 * derived from the simulated clusters at the moment the planner asks. Each Ready pod serves a steady request
 * rate with a small 5xx ratio; a workload's p99 is its own (stable per name) and a few percent higher on the new
 * revision's sidecar. A pod that is not Ready serves nothing, as behind a real Service. The planner's metric
 * gates judge these samples exactly as they judge Prometheus's (ADR 0012).
 *
 * A scrape costs what it returns: a named target reads that workload and its pods through the simulated
 * cluster's indexes, a namespace target that namespace's workloads once; nothing scans the cluster, so the
 * demo and the fleet benchmark measure meshwave, not this stand-in. The sampler keeps each target's answer until
 * the cluster's serving stamp for it moves (`servedCache`): a sample re-reads only the targets that changed. A workload's traffic is its own pods'
 * (the simulated cluster's pods all have an owner; its Service would select the same ones).
 */
export interface SimulatedMeshMetricsOptions {
  /** requests per second each Ready pod serves */
  readonly requestsPerSecond: number;
  /** share of those answered 5xx */
  readonly errorRatio: number;
  /** p99 of the old revision's proxy, ms; each workload varies it by up to ±5 % */
  readonly baseP99Ms: number;
  /** p99 on the new revision relative to the old (1.03: 3 % slower) */
  readonly newRevisionP99Factor: number;
  /** the longest evaluation window, seconds */
  readonly maxWindowSeconds: number;
  /** a wave's samples are reused this long, as the planner's Prometheus adapter does (MESHWAVE_METRICS_CACHE_MS) */
  readonly cacheMs: number;
}

export const DEFAULT_SIMULATED_MESH_METRICS: SimulatedMeshMetricsOptions = {
  requestsPerSecond: 20,
  errorRatio: 0.0002,
  baseP99Ms: 40,
  newRevisionP99Factor: 1.03,
  maxWindowSeconds: 300,
  cacheMs: 2000,
};

/** A workload of a target as it serves: its Ready pods by revision, its name and its own p99 spread. */
export interface Served {
  readonly workload: string;
  readonly ready: number;
  readonly revisions: ReadonlyMap<string | null, number>;
  readonly spread: number;
}

/** What a target's workloads serve, read from the simulated cluster now. */
function servedNow(cluster: SimulatedCluster, t: MetricTarget): Served[] {
  return cluster.servingPods(t.namespace, t.name).map((w) => {
    const workload = `${t.cluster}/${t.namespace}/${w.name}`;
    return {
      workload,
      ready: w.ready,
      // a copy: the cluster keeps its counts up to date in place
      revisions: new Map(w.revisions),
      spread: 0.95 + (stableHash('demo-p99', workload) / 0xffffffff) * 0.1,
    };
  });
}

/** How `simulatedTraffic` reads a target's workloads: `servedNow`, or a `servedCache` in front of it. */
export type ServedReader = (cluster: SimulatedCluster, t: MetricTarget) => readonly Served[];

/**
 * Keeps each target's answer until its cluster's serving stamp says it may have changed, so a sample re-reads the
 * targets whose pods changed, not the wave (81,000 targets per sample in the fleet benchmark's last wave). Keyed
 * by the target itself: the planner keeps a wave's targets while its units and exclusions stay (metric-query.ts),
 * and a cache entry goes with its target.
 */
export function servedCache(): ServedReader {
  const kept = new WeakMap<MetricTarget, { stamp: { readonly version: number }; seen: number; served: Served[] }>();
  return (cluster, t) => {
    const hit = kept.get(t);
    if (hit !== undefined && hit.stamp.version === hit.seen) return hit.served;
    const stamp = cluster.servingStamp(t.namespace, t.name);
    const served = servedNow(cluster, t);
    if (stamp !== undefined) kept.set(t, { stamp, seen: stamp.version, served });
    else kept.delete(t);
    return served;
  };
}

/**
 * What the clusters' Ready pods of the targets served over the window (before the change when `asBefore`);
 * `served` reads the targets' workloads (default: from the clusters, now).
 */
export function simulatedTraffic(
  clusters: ReadonlyMap<string, SimulatedCluster>,
  options: SimulatedMeshMetricsOptions,
  targets: readonly MetricTarget[],
  window: {
    readonly seconds: number;
    readonly to: string;
    readonly asBefore: boolean;
    /** the units whose p99 is asked (the query's latency sample), as Prometheus answers a p99 query; absent: every unit */
    readonly p99Of?: ReadonlySet<string>;
  },
  served: ServedReader = servedNow,
): WorkloadTraffic[] {
  const out: WorkloadTraffic[] = [];
  for (const t of targets) {
    const cluster = clusters.get(t.cluster);
    if (!cluster) continue;
    if (t.gateway !== undefined) {
      out.push(...gatewayTraffic(cluster, options, t, window));
      continue;
    }
    for (const w of served(cluster, t)) {
      const ready = w.ready;
      const onNew = window.asBefore ? 0 : (w.revisions.get(window.to) ?? 0);
      const requests = Math.round(options.requestsPerSecond * window.seconds * ready);
      const errors = Math.round(requests * options.errorRatio);
      // two literals, not a spread of an optional one: this runs for every workload of the wave at every sample
      if (window.p99Of === undefined || window.p99Of.has(t.unit)) {
        const factor = 1 + (onNew / ready) * (options.newRevisionP99Factor - 1);
        const p99Ms = Math.round(options.baseP99Ms * w.spread * factor * 10) / 10;
        out.push({ workload: w.workload, requests, errors, p99Ms, unit: t.unit });
      } else out.push({ workload: w.workload, requests, errors, unit: t.unit });
    }
  }
  return out;
}

/**
 * A gateway target (ADR 0050): per Ready pod of the gateway's Deployments (the gateway and its canary copy) injected
 * with the target's revision, what it served; before the change (`asBefore`) every Ready pod counts, on the old
 * revision's p99. Per pod, as the planner's Prometheus adapter reads a gateway (by `pod`).
 */
function gatewayTraffic(
  cluster: SimulatedCluster,
  options: SimulatedMeshMetricsOptions,
  t: MetricTarget,
  window: { readonly seconds: number; readonly to: string; readonly asBefore: boolean },
): WorkloadTraffic[] {
  const out: WorkloadTraffic[] = [];
  const requests = Math.round(options.requestsPerSecond * window.seconds);
  for (const name of t.gateway?.workloads ?? []) {
    const pods = cluster.podsOfWorkload({ namespace: t.namespace, kind: WorkloadKind.Deployment, name });
    for (const p of pods) {
      const revision = injectedRevisionOf(p.annotations);
      if (!p.ready || p.terminating || (!window.asBefore && revision !== t.gateway?.revision)) continue;
      const onNew = !window.asBefore && revision === window.to;
      // the gateway's own p99 (stable per gateway), each pod within ±1% of it: its pods are alike
      const spread =
        (0.95 + (stableHash('demo-p99', `${t.cluster}/${t.namespace}/${t.name}`) / 0xffffffff) * 0.1) *
        (0.99 + (stableHash('demo-p99', `${t.cluster}/${t.namespace}/${p.name}`) / 0xffffffff) * 0.02);
      out.push({
        workload: `${t.cluster}/${t.namespace}/${p.name}`,
        requests,
        errors: Math.round(requests * options.errorRatio),
        p99Ms: Math.round(options.baseP99Ms * spread * (onNew ? options.newRevisionP99Factor : 1) * 10) / 10,
        unit: t.unit,
      });
    }
  }
  return out;
}

export function createSimulatedMeshMetrics(
  clusters: readonly SimulatedCluster[],
  options: SimulatedMeshMetricsOptions = DEFAULT_SIMULATED_MESH_METRICS,
): MetricSampler {
  const byName = new Map(clusters.map((c) => [c.name, c]));
  const served = servedCache();
  const trafficOf = (
    targets: readonly MetricTarget[],
    sampled: readonly MetricTarget[],
    seconds: number,
    to: string,
    asBefore: boolean,
  ) =>
    simulatedTraffic(
      byName,
      options,
      targets,
      { seconds, to, asBefore, p99Of: new Set(sampled.map((t) => t.unit)) },
      served,
    );

  return cachedMetricSampler(async (query, _now, record) => {
    const to = record.spec.spec.to;
    // the same cohorts as the Prometheus sampler: every unit of the wave counted, the p99 of the latency sample
    const counted = query.errorRate ? query.current : query.latencyCurrent;
    const latencyCurrent = query.latency ? query.latencyCurrent : [];
    const current =
      query.errorRate || query.latency ? trafficOf(counted, latencyCurrent, query.windowSeconds, to, false) : [];
    const baseline = query.latency
      ? trafficOf(query.baseline, query.baseline, query.windowSeconds, to, query.baselineAt !== undefined)
      : [];
    return metricSamplesFor(query, current, baseline);
  }, options);
}
