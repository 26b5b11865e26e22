import { describe, expect, it } from 'vitest';
import { MeshErrorCode, istioRequestRateQuery, type PrometheusSample } from '@meshwave/mesh';
import { fetchServiceGraphFromPrometheus } from './prometheus-graph-source.js';

function newRate(src: string, dst: string, rate: string): PrometheusSample {
  const [sns, sw] = src.split('/');
  const [dns, dw] = dst.split('/');
  return {
    metric: {
      source_workload_namespace: sns!,
      source_workload: sw!,
      destination_workload_namespace: dns!,
      destination_workload: dw!,
    },
    value: [1_700_000_000, rate],
  };
}

describe('fetchServiceGraphFromPrometheus', () => {
  it('queries the request rates over the window and converts the answer', async () => {
    const asked: string[] = [];
    const fakePrometheus: typeof fetch = (input) => {
      const url = new URL(String(input));
      asked.push(`${url.pathname} ${url.searchParams.get('query')}`);
      const body = { status: 'success', data: { resultType: 'vector', result: [newRate('a/x', 'b/y', '2')] } };
      return Promise.resolve(new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } }));
    };
    const graph = await fetchServiceGraphFromPrometheus('http://prom.test:9090/prefix', '10m', {
      fetch: fakePrometheus,
    });
    expect(asked).toEqual([`/prefix/api/v1/query ${istioRequestRateQuery('10m')}`]);
    expect(istioRequestRateQuery('10m')).toContain('rate(istio_requests_total{reporter="source"}[10m])');
    expect(graph.edges).toEqual([{ source: 'a/x', target: 'b/y', weight: 2 }]);
  });

  it('reports an unreachable or confused Prometheus as METRICS_UNAVAILABLE', async () => {
    const down: typeof fetch = () => Promise.reject(new Error('connect ECONNREFUSED'));
    await expect(fetchServiceGraphFromPrometheus('http://prom.test', '5m', { fetch: down })).rejects.toMatchObject({
      code: MeshErrorCode.MetricsUnavailable,
    });
    const matrix: typeof fetch = () =>
      Promise.resolve(new Response(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } })));
    await expect(fetchServiceGraphFromPrometheus('http://prom.test', '5m', { fetch: matrix })).rejects.toMatchObject({
      code: MeshErrorCode.MetricsUnavailable,
    });
  });
});
