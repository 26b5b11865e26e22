import { WavePhase } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newHarness } from '../core/engine-harness.js';
import { MetricObservationKind } from '../core/metric-samples.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import {
  MAX_NAMED_WORKLOADS,
  MAX_SELECTOR_CHARS,
  MAX_TIMEOUT_GROWTH,
  createMetricSampler,
  promqlOf,
} from './metric-sampler.js';
import type { PrometheusClient } from './prometheus-client.js';

describe('promqlOf', () => {
  const targets = [
    { unit: 'kind-1/shop/Deployment/cart', cluster: 'kind-1', namespace: 'shop', name: 'cart' },
    { unit: 'kind-2/web.prod', cluster: 'kind-2', namespace: 'web.prod' },
  ];

  it('selects destination-reported Istio series of each target’s cluster and namespace (and workload), grouped per workload', () => {
    const [q, ...more] = promqlOf(targets, 300, 'cluster');
    expect(more).toEqual([]);
    const cart =
      'reporter="destination",cluster="kind-1",destination_workload_namespace="shop",destination_workload="cart"';
    const web = 'reporter="destination",cluster="kind-2",destination_workload_namespace="web.prod"';
    const by = 'cluster,destination_workload_namespace,destination_workload';
    const range = '[300s]';
    expect(q?.requests).toBe(
      `sum by (${by}) (increase(istio_requests_total{${cart}}${range}) or increase(istio_requests_total{${web}}${range}))`,
    );
    // only workloads with 5xx in the window come back: the others count 0 errors without a series each
    expect(q?.errors).toBe(
      `sum by (${by}) (increase(istio_requests_total{${cart},response_code=~"5.."}${range}) or increase(istio_requests_total{${web},response_code=~"5.."}${range})) > 0`,
    );
    expect(q?.p99).toBe(
      `histogram_quantile(0.99, sum by (${by},le) (rate(istio_request_duration_milliseconds_bucket{${cart}}${range}) or rate(istio_request_duration_milliseconds_bucket{${web}}${range})))`,
    );
  });

  it('leaves the cluster out without a cluster label (one selector per namespace)', () => {
    const named = [
      { unit: 'c1/shop/Deployment/cart', cluster: 'c1', namespace: 'shop', name: 'cart' },
      { unit: 'c2/shop/Deployment/pay.v2', cluster: 'c2', namespace: 'shop', name: 'pay.v2' },
    ];
    expect(promqlOf(named, 60)[0]?.requests).toBe(
      'sum by (destination_workload_namespace,destination_workload) (increase(istio_requests_total{reporter="destination",destination_workload_namespace="shop",destination_workload=~"cart|pay\\\\.v2"}[60s]))',
    );
  });

  it('asks a cohort of more than MAX_NAMED_WORKLOADS workloads in parts of at most that many names and MAX_SELECTOR_CHARS characters, each workload in one part (ADR 0074)', () => {
    const many = Array.from({ length: 2 * MAX_NAMED_WORKLOADS + 7 }, (_, i) => ({
      unit: `c${i % 3}/ns-${i % 4}/Deployment/w${i}`,
      cluster: `c${i % 3}`,
      namespace: `ns-${i % 4}`,
      name: `w${i}`,
    }));
    const parts = promqlOf(many, 60, 'cluster');
    expect(parts).toHaveLength(3);
    const named = parts.map((q) =>
      [...q.requests.matchAll(/destination_workload=~?"([^"]*)"/g)].flatMap((m) => m[1]!.split('|')),
    );
    for (const names of named) expect(names.length).toBeLessThanOrEqual(MAX_NAMED_WORKLOADS);
    expect(named.flat().sort()).toEqual(many.map((t) => t.name).sort());
    // names of 250 characters: the part is cut by its length before its count
    const long = Array.from({ length: 400 }, (_, i) => ({
      unit: `c1/shop/Deployment/${i}`,
      cluster: 'c1',
      namespace: 'shop',
      name: `${String(i).padStart(3, '0')}${'x'.repeat(247)}`,
    }));
    const longParts = promqlOf(long, 60, 'cluster');
    expect(longParts.length).toBeGreaterThan(1);
    for (const q of longParts) expect(q.requests.length).toBeLessThan(MAX_SELECTOR_CHARS + 200);
  });

  it('reads a gateway cohort from the gateway’s own (source-reported) requests, by the revision of its pods, per pod (ADR 0050)', () => {
    const gateway = {
      unit: 'c1/istio-ingress/Deployment/ingressgateway',
      cluster: 'c1',
      namespace: 'istio-ingress',
      name: 'ingressgateway',
      gateway: { revision: '1-25-2', workloads: ['ingressgateway', 'ingressgateway-1-25-2'] },
    };
    const [q] = promqlOf([gateway], 60, 'cluster');
    expect(q?.requests).toBe(
      'sum by (cluster,source_workload_namespace,source_workload,pod) (increase(istio_requests_total{reporter="source",source_workload_namespace=~"istio-ingress",source_workload=~"ingressgateway|ingressgateway-1-25-2",istio_io_rev=~"1-25-2",cluster=~"c1"}[60s]))',
    );
  });
});

/**
 * A Prometheus that needs `needMs` to answer: a query given less time times out (as the real client reports it);
 * the test's clock moves on by the time each query took.
 */
function newSlowPrometheus(
  needMs: number,
  clock: { now: number },
): PrometheusClient & { timeouts: number[]; needMs: number } {
  const timeouts: number[] = [];
  return {
    timeouts,
    needMs,
    query(_promql, _at, timeoutMs = 0) {
      timeouts.push(timeoutMs);
      const start = clock.now;
      if (timeoutMs < this.needMs) {
        clock.now = Math.max(clock.now, start + timeoutMs);
        return Promise.reject(
          new PlannerError(PlannerErrorCode.PrometheusTimeout, `did not answer within ${timeoutMs} ms`, {
            retryable: true,
          }),
        );
      }
      clock.now = Math.max(clock.now, start + this.needMs);
      return Promise.resolve([]);
    },
  };
}

describe('createMetricSampler', () => {
  it('Given a Prometheus slower than the query timeout, When samples are fetched again, Then each gets twice the time of the one that timed out (at most 8x), and keeps the time that worked until answers come in less than half of it', async () => {
    const h = newHarness({ gates: { errorRate: { max: 0.01 } } });
    h.reconcile();
    expect(h.state.wavePhase).toBe(WavePhase.Converging);
    const clock = { now: 0 };
    const options = { maxWindowSeconds: 300, cacheMs: 2_000, timeoutMs: 5_000, clock: () => clock.now };
    const prometheus = newSlowPrometheus(18_000, clock);
    const sampler = createMetricSampler({ client: prometheus, ...options });
    const now = new Date(h.now.getTime() + 60_000);
    /** one sample fetched after the cache expired, as a reconcile then sees it */
    const fetchOne = async (s: typeof sampler): Promise<string> => {
      clock.now += options.cacheMs;
      await new Promise<void>((refreshed) => s.sample(h.record, h.state, now, refreshed));
      const o = s.sample(h.record, h.state, now, () => undefined)?.observation;
      return o?.kind === MetricObservationKind.Unavailable ? o.code : (o?.kind ?? 'none');
    };
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await fetchOne(sampler));
    // then Prometheus is quick again: the time given comes back down to the configured one, halving
    prometheus.needMs = 100;
    for (let i = 0; i < 3; i++) outcomes.push(await fetchOne(sampler));
    // the error-rate gate's queries (requests, 5xx) of each sample
    expect(prometheus.timeouts.filter((_, i) => i % 2 === 0)).toEqual([
      5_000, 10_000, 20_000, 20_000, 20_000, 10_000, 5_000,
    ]);
    expect(outcomes).toEqual([
      PlannerErrorCode.PrometheusTimeout,
      PlannerErrorCode.PrometheusTimeout,
      ...Array<string>(5).fill(MetricObservationKind.Samples),
    ]);
    // a Prometheus that never answers in time is given at most MAX_TIMEOUT_GROWTH times the configured timeout
    const stuck = newSlowPrometheus(Infinity, clock);
    const patient = createMetricSampler({ client: stuck, ...options });
    for (let i = 0; i < 6; i++) await fetchOne(patient);
    expect(Math.max(...stuck.timeouts)).toBe(5_000 * MAX_TIMEOUT_GROWTH);
  });
});
