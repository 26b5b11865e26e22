import { WavePhase } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newHarness } from '../core/engine-harness.js';
import { MetricObservationKind } from '../core/metric-samples.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { MAX_NAMED_WORKLOADS, MAX_TIMEOUT_GROWTH, createMetricSampler, promqlOf } from './metric-sampler.js';
import type { PrometheusClient } from './prometheus-client.js';

describe('promqlOf', () => {
  const targets = [
    { unit: 'kind-1/shop/Deployment/cart', cluster: 'kind-1', namespace: 'shop', name: 'cart' },
    { unit: 'kind-2/web.prod', cluster: 'kind-2', namespace: 'web.prod' },
  ];

  it('selects destination-reported Istio series of the targets’ namespaces and clusters, grouped per workload', () => {
    const q = promqlOf(targets, 300, 'cluster');
    const selector =
      'reporter="destination",destination_workload_namespace=~"shop|web\\\\.prod",cluster=~"kind-1|kind-2"';
    const by = 'cluster,destination_workload_namespace,destination_workload';
    expect(q.requests).toBe(`sum by (${by}) (increase(istio_requests_total{${selector}}[300s]))`);
    // only workloads with 5xx in the window come back: the others count 0 errors without a series each
    expect(q.errors).toBe(
      `sum by (${by}) (increase(istio_requests_total{${selector},response_code=~"5.."}[300s])) > 0`,
    );
    expect(q.p99).toBe(
      `histogram_quantile(0.99, sum by (${by},le) (rate(istio_request_duration_milliseconds_bucket{${selector}}[300s])))`,
    );
  });

  it('leaves the cluster out without a cluster label', () => {
    const q = promqlOf(targets, 60);
    expect(q.requests).toBe(
      'sum by (destination_workload_namespace,destination_workload) (increase(istio_requests_total{reporter="destination",destination_workload_namespace=~"shop|web\\\\.prod"}[60s]))',
    );
  });

  it('matches a cohort of named workloads by name too, so a small wave in a busy namespace reads only its own series', () => {
    const named = [
      { unit: 'c1/shop/Deployment/cart', cluster: 'c1', namespace: 'shop', name: 'cart' },
      { unit: 'c2/shop/Deployment/pay.v2', cluster: 'c2', namespace: 'shop', name: 'pay.v2' },
    ];
    expect(promqlOf(named, 60).requests).toContain(
      'destination_workload_namespace=~"shop",destination_workload=~"cart|pay\\\\.v2"}',
    );
    // a namespace unit, or more names than the limit: matched by namespace only
    expect(promqlOf(targets, 60).requests).not.toContain('destination_workload=~');
    const many = Array.from({ length: MAX_NAMED_WORKLOADS + 1 }, (_, i) => ({
      unit: `c1/shop/Deployment/w${i}`,
      cluster: 'c1',
      namespace: 'shop',
      name: `w${i}`,
    }));
    expect(promqlOf(many, 60).requests).not.toContain('destination_workload=~');
  });

  it('reads a gateway cohort from the gateway’s own (source-reported) requests, by the revision of its pods, per pod (ADR 0050)', () => {
    const gateway = {
      unit: 'c1/istio-ingress/Deployment/ingressgateway',
      cluster: 'c1',
      namespace: 'istio-ingress',
      name: 'ingressgateway',
      gateway: { revision: '1-25-2', workloads: ['ingressgateway', 'ingressgateway-1-25-2'] },
    };
    const q = promqlOf([gateway], 60, 'cluster');
    expect(q.requests).toBe(
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
