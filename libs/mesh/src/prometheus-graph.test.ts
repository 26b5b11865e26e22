import { ServiceGraph } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { serviceGraphFromIstioRequests, type PrometheusSample } from './prometheus-graph.js';

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

describe('serviceGraphFromIstioRequests', () => {
  it('makes one node per workload in its namespace and one edge per caller and callee', () => {
    const graph = serviceGraphFromIstioRequests(
      [
        newRate('shop/web', 'shop/cart', '12.5'),
        newRate('shop/cart', 'billing/api', '3'),
        newRate('shop/web', 'shop/cart', '0.5'),
      ],
      [{ metric: { namespace: 'shop', workload: 'web' }, value: [0, '6'] }],
    );
    expect(ServiceGraph.parse(graph)).toEqual(graph);
    expect(graph.nodes).toEqual([
      { id: 'billing/api', namespace: 'billing', weight: 1 },
      { id: 'shop/cart', namespace: 'shop', weight: 1 },
      { id: 'shop/web', namespace: 'shop', weight: 6 },
    ]);
    expect(graph.edges).toEqual([
      { source: 'shop/cart', target: 'billing/api', weight: 3 },
      { source: 'shop/web', target: 'shop/cart', weight: 13 },
    ]);
  });

  it('leaves out traffic from or to workloads outside the mesh, and zero or invalid rates', () => {
    const graph = serviceGraphFromIstioRequests([
      newRate('unknown/unknown', 'shop/web', '50'),
      newRate('shop/web', 'shop/cart', 'NaN'),
      newRate('shop/web', 'shop/db', '0'),
    ]);
    expect(graph).toEqual({ nodes: [{ id: 'shop/web', namespace: 'shop', weight: 1 }], edges: [] });
  });
});
