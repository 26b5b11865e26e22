import { describe, expect, it } from 'vitest';
import { MAX_NAMED_WORKLOADS, promqlOf } from './metric-sampler.js';

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
    expect(q.errors).toBe(`sum by (${by}) (increase(istio_requests_total{${selector},response_code=~"5.."}[300s]))`);
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
