import { WavePhase } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newHarness, newInventory } from '../core/engine-harness.js';
import { errorRateHealthSource } from '../core/metric-gates.js';
import { metricQueryOf } from '../core/metric-query.js';
import { MetricObservationKind, type MetricObservation } from '../core/metric-samples.js';
import { MAX_NAMED_WORKLOADS, createMetricSampler } from './metric-sampler.js';
import type { PrometheusClient, VectorSample } from './prometheus-client.js';

interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A PromQL string body as its text (`\\.` is `\.`). */
const unquote = (body: string): string => body.replace(/\\(.)/g, '$1');

/** The label matchers of each `{...}` selector of `promql`, as predicates. */
function selectorsOf(promql: string): ((labels: Readonly<Record<string, string>>) => boolean)[] {
  return [...promql.matchAll(/\{([^}]*)\}/g)].map((m) => {
    const matchers = [...m[1]!.matchAll(/(\w+)(=~|=)"((?:[^"\\]|\\.)*)"/g)].map(([, label, op, body]) => {
      const text = unquote(body!);
      const re = op === '=~' ? new RegExp(`^(?:${text})$`) : undefined;
      return (labels: Readonly<Record<string, string>>): boolean =>
        re !== undefined ? re.test(labels[label!] ?? '') : labels[label!] === text;
    });
    return (labels) => matchers.every((ok) => ok(labels));
  });
}

/**
 * A Prometheus over a fixed set of Istio series that counts the series each query's selectors select (what the real
 * one reads from its index and chunks) and answers per workload: requests, 5xx (> 0 only) or a p99 of 40 ms.
 */
function newCountingPrometheus(series: readonly Series[]): PrometheusClient & { read: number; names: number[] } {
  const self = {
    read: 0,
    names: [] as number[],
    query(promql: string): Promise<VectorSample[]> {
      const selectors = selectorsOf(promql);
      self.names.push(
        [...promql.matchAll(/destination_workload=~?"([^"]*)"/g)].flatMap((m) => m[1]!.split('|')).length,
      );
      const byWorkload = new Map<string, VectorSample>();
      for (const s of series) {
        if (!selectors.some((selected) => selected(s.labels))) continue;
        self.read++;
        const { cluster, destination_workload_namespace: ns, destination_workload: name } = s.labels;
        const metric = { cluster: cluster!, destination_workload_namespace: ns!, destination_workload: name! };
        const key = `${cluster}/${ns}/${name}`;
        const value = promql.startsWith('histogram_quantile') ? 40 : (byWorkload.get(key)?.value ?? 0) + s.value;
        byWorkload.set(key, { metric, value });
      }
      const answer = [...byWorkload.values()];
      return Promise.resolve(promql.endsWith('> 0') ? answer.filter((s) => s.value > 0) : answer);
    },
  };
  return self;
}

describe('a wave’s metric gate reads the wave’s own series (ADR 0074)', () => {
  it('Given a wave of 1,200 workloads spread over every namespace of 3 clusters of 4,000, and failing workloads outside it, When its error-rate sample is fetched, Then only its own series are read, in queries of at most MAX_NAMED_WORKLOADS names, and the gate judges exactly its workloads', async () => {
    const inventory = newInventory(3, 4_000);
    const h = newHarness({ gates: { errorRate: { max: 0.01 } } }, inventory);
    h.reconcile();
    expect(h.state.wavePhase).toBe(WavePhase.Converging);
    const now = new Date(h.now.getTime() + 60_000);
    const wave = metricQueryOf(h.record, h.state, now, 300)!.current;
    expect(wave.length).toBe(1_200);
    const inWave = new Set(wave.map((t) => `${t.cluster}/${t.namespace}/${t.name}`));
    // every workload of the fleet has a 200 and a 503 series; those outside the wave answer 50% 5xx
    const series: Series[] = inventory.clusters.flatMap((c) =>
      c.workloads.flatMap((w) => {
        const labels = {
          reporter: 'destination',
          cluster: c.name,
          destination_workload_namespace: w.namespace,
          destination_workload: w.name,
        };
        const failing = !inWave.has(`${c.name}/${w.namespace}/${w.name}`);
        return [
          { labels: { ...labels, response_code: '200' }, value: 100 },
          { labels: { ...labels, response_code: '503' }, value: failing ? 100 : 0 },
        ];
      }),
    );
    const prometheus = newCountingPrometheus(series);
    const sampler = createMetricSampler({
      client: prometheus,
      clusterLabel: 'cluster',
      maxWindowSeconds: 300,
      cacheMs: 1,
    });
    await new Promise<void>((refreshed) => sampler.sample(h.record, h.state, now, refreshed));
    const observation: MetricObservation | undefined = sampler.sample(
      h.record,
      h.state,
      now,
      () => undefined,
    )?.observation;

    // the requests query reads the wave's two series per workload, the 5xx query its 503 series, nothing else
    // (matched by namespace, they read all 36,000 of the fleet's: the wave has workloads in every namespace)
    expect(prometheus.read).toBe(3 * 1_200);
    for (const n of prometheus.names) expect(n).toBeLessThanOrEqual(MAX_NAMED_WORKLOADS);
    expect(observation?.kind).toBe(MetricObservationKind.Samples);
    if (observation?.kind !== MetricObservationKind.Samples) return;
    // every unit of the wave is judged, once, and none outside it
    expect(observation.samples.current.map((t) => t.workload).sort()).toEqual([...inWave].sort());
    expect(observation.samples.current.every((t) => t.requests === 100 && t.errors === 0)).toBe(true);
    const verdict = errorRateHealthSource().evaluate({
      rolloutId: h.record.id,
      wave: 0,
      final: true,
      gates: h.record.spec.spec.gates,
      units: [],
      watched: [],
      vmHosts: [],
      metrics: observation,
      metricWindowStart: observation.samples.windowStart,
    });
    expect(verdict.outcome).toBe('Successful');
  });
});
