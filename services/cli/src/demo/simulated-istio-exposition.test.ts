import { describe, expect, it } from 'vitest';
import { createSimulatedCluster } from '@meshwave/cluster-agent';
import { DEFAULT_SIMULATED_MESH_METRICS, simulatedTraffic } from './simulated-mesh-metrics.js';
import {
  LATENCY_BUCKETS_MS,
  SimulatedIstioExposition,
  bucketSplit,
  neededLatencyBuckets,
} from './simulated-istio-exposition.js';

/**
 * The fleet benchmark's process mode: the planner reads the simulated mesh through Prometheus, so what it reads
 * back (rates of counters, histogram_quantile over buckets) must be the embedded demo's traffic.
 */

/** Prometheus's histogram_quantile over cumulative bucket counts (the last one +Inf): linear inside a bucket. */
function histogramQuantile(q: number, cumulative: readonly number[]): number {
  const total = cumulative.at(-1)!;
  const rank = q * total;
  const i = cumulative.findIndex((c) => c >= rank);
  if (i >= LATENCY_BUCKETS_MS.length) return LATENCY_BUCKETS_MS.at(-1)!;
  const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
  const below = i === 0 ? 0 : cumulative[i - 1]!;
  return lower + (LATENCY_BUCKETS_MS[i]! - lower) * ((rank - below) / (cumulative[i]! - below));
}

/** The same over the bounds a scrape exposed (`le` of each series, then +Inf), as Prometheus reads them. */
function quantileOver(q: number, bounds: readonly number[], cumulative: readonly number[]): number {
  const rank = q * cumulative.at(-1)!;
  const i = cumulative.findIndex((c) => c >= rank);
  if (i >= bounds.length) return bounds.at(-1)!;
  const lower = i === 0 ? 0 : bounds[i - 1]!;
  const below = i === 0 ? 0 : cumulative[i - 1]!;
  return lower + (bounds[i]! - lower) * ((rank - below) / (cumulative[i]! - below));
}

/** The value of each series of the exposition whose labels contain `match`, in order. */
function values(text: string, metric: string, match: string): number[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`) && l.includes(match))
    .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
}

describe('simulated Istio exposition', () => {
  it.each([7, 12, 38.4, 41.2, 44.9, 80, 300])(
    'Given a p99 of %s ms, When its batch is split into the buckets, Then histogram_quantile reads the p99 back',
    (p99) => {
      const { index, below } = bucketSplit(p99);
      const cumulative = [...LATENCY_BUCKETS_MS, Infinity].map((_, i) => (i < index ? below : 1));
      expect(histogramQuantile(0.99, cumulative)).toBeCloseTo(p99, 6);
    },
  );

  it('Given a workload with Ready pods, When scraped twice a second apart, Then its counters grow by what the demo says it served', () => {
    const REPLICAS = 2;
    const sim = createSimulatedCluster({ name: 'c1' });
    sim.createWorkload({ namespace: 'team', name: 'api', replicas: REPLICAS });
    const exposition = new SimulatedIstioExposition([sim], () => ['team'], '1-25-2');
    const series = 'cluster="c1",destination_workload_namespace="team",destination_workload="api"';

    const first = exposition.render('c1', 10_000);
    const second = exposition.render('c1', 11_000);

    const requests = (text: string): number =>
      values(text, 'istio_requests_total', series).reduce((sum, v) => sum + v, 0);
    const served = DEFAULT_SIMULATED_MESH_METRICS.requestsPerSecond * REPLICAS;
    expect(requests(second) - requests(first)).toBe(served);
    const [expected] = simulatedTraffic(
      new Map([['c1', sim]]),
      DEFAULT_SIMULATED_MESH_METRICS,
      [{ unit: '', cluster: 'c1', namespace: 'team' }],
      { seconds: 1, to: '1-25-2', asBefore: false },
    );
    const buckets = values(second, 'istio_request_duration_milliseconds_bucket', series);
    expect(buckets).toHaveLength(LATENCY_BUCKETS_MS.length + 1);
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(expected!.p99Ms!, 6);
    expect(exposition.render('c2', 11_000)).not.toContain('c1');
    sim.close();
  });

  it('Given every p99 the options give, When only the needed bounds are exposed, Then histogram_quantile reads the same p99s back', () => {
    const o = DEFAULT_SIMULATED_MESH_METRICS;
    const needed = neededLatencyBuckets(o);
    // 40 ms ±5 %, 3 % slower on the new revision: all in (25, 50], so 25 and 50 (and +Inf)
    expect(needed.map((i) => LATENCY_BUCKETS_MS[i])).toEqual([25, 50]);
    const lowest = o.baseP99Ms * 0.95;
    const highest = o.baseP99Ms * 1.05 * o.newRevisionP99Factor;
    for (let p99 = lowest; p99 <= highest; p99 += (highest - lowest) / 50) {
      const { index, below } = bucketSplit(p99);
      const all = [...LATENCY_BUCKETS_MS, Infinity].map((_, i) => (i < index ? below : 1));
      const exposed = [...needed, LATENCY_BUCKETS_MS.length];
      const bounds = exposed.map((i) => LATENCY_BUCKETS_MS[i] ?? Infinity);
      expect(
        quantileOver(
          0.99,
          bounds,
          exposed.map((i) => all[i]!),
        ),
      ).toBeCloseTo(histogramQuantile(0.99, all), 9);
    }
  });

  it('Given the needed bounds only, When a fleet of workloads on both revisions is scraped, Then each p99 reads back as with all bounds', () => {
    const sim = createSimulatedCluster({ name: 'c1' });
    for (let i = 0; i < 40; i++) sim.createWorkload({ namespace: 'team', name: `w${i}`, replicas: 2 });
    const full = new SimulatedIstioExposition([sim], () => ['team'], '1-25-2');
    const lean = new SimulatedIstioExposition([sim], () => ['team'], '1-25-2', undefined, 'cluster', 'needed');
    const bounds = [
      ...neededLatencyBuckets(DEFAULT_SIMULATED_MESH_METRICS).map((i) => LATENCY_BUCKETS_MS[i]!),
      Infinity,
    ];
    const texts = [full, lean].map((e) => e.render('c1', 11_000));
    for (let i = 0; i < 40; i++) {
      const series = `destination_workload="w${i}"`;
      const all = values(texts[0]!, 'istio_request_duration_milliseconds_bucket', series);
      const some = values(texts[1]!, 'istio_request_duration_milliseconds_bucket', series);
      expect(some).toHaveLength(bounds.length);
      expect(quantileOver(0.99, bounds, some)).toBeCloseTo(histogramQuantile(0.99, all), 9);
      expect(values(texts[1]!, 'istio_requests_total', series)).toEqual(
        values(texts[0]!, 'istio_requests_total', series),
      );
    }
    sim.close();
  });

  it('Given a cluster label of its own (one benchmark run among earlier ones), When scraped, Then every series names its cluster with that label', () => {
    const sim = createSimulatedCluster({ name: 'c1' });
    sim.createWorkload({ namespace: 'team', name: 'api', replicas: 1 });
    const exposition = new SimulatedIstioExposition(
      [sim],
      () => ['team'],
      '1-25-2',
      DEFAULT_SIMULATED_MESH_METRICS,
      'cluster_run1',
    );
    const lines = exposition
      .render('c1', 10_000)
      .split('\n')
      .filter((l) => l.startsWith('istio_'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.includes('cluster_run1="c1"') && !l.includes(',cluster="'))).toBe(true);
    sim.close();
  });
});
