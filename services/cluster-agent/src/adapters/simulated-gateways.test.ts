import { describe, expect, it } from 'vitest';
import { runGatewayStep } from '../runtime/gateway-canary.js';
import { createSimulatedCluster } from './simulated-cluster.js';

// The embedded demo moves its gateway on the simulated cluster: the canary's writes must behave there as a
// Deployment controller makes them behave on a real apiserver (ADR 0047, 0050).

describe('a gateway canary on the simulated cluster', () => {
  it('Given a gateway of 4 on the old revision, When it moves 50% then 100% with removal, Then the copy serves every pod on the new revision and the old Deployment is gone', async () => {
    const cluster = createSimulatedCluster({ podStartMs: 5, revisions: ['1-24-5', '1-25-2'] });
    cluster.createWorkload({
      namespace: 'istio-ingress',
      name: 'ingressgateway',
      replicas: 4,
      labels: { app: 'ingressgateway', istio: 'ingressgateway' },
      templateLabels: { istio: 'ingressgateway', 'istio.io/rev': '1-24-5' },
      templateAnnotations: { 'inject.istio.io/templates': 'gateway' },
    });
    const step = (percent: number, removeOld = false) =>
      runGatewayStep(
        cluster,
        { namespace: 'istio-ingress', name: 'ingressgateway', revision: '1-25-2', percent, removeOld },
        { progressDeadlineMs: 5_000, intervalMs: 10 },
      );

    expect(await step(50)).toMatchObject({ state: 'converged' });
    const half = cluster.servingPods('istio-ingress');
    expect(half.map((w) => [w.name, w.ready, w.revisions.get('1-25-2') ?? 0])).toEqual([
      ['ingressgateway', 2, 0],
      ['ingressgateway-1-25-2', 2, 2],
    ]);
    expect(await step(100, true)).toMatchObject({ state: 'converged' });
    expect(cluster.workloadsIn('istio-ingress').map((w) => w.name)).toEqual(['ingressgateway-1-25-2']);
    expect(cluster.servingPods('istio-ingress')[0]?.revisions.get('1-25-2')).toBe(4);
    cluster.close();
  });

  it('Given a Deployment held by a finalizer, When it is deleted, Then it stays with its pods until the finalizer is lifted', async () => {
    const cluster = createSimulatedCluster({ podStartMs: 5 });
    cluster.createWorkload({ namespace: 'istio-ingress', name: 'ingressgateway', replicas: 2 });
    cluster.setFaults({ finalizers: [{ namespace: 'istio-ingress', name: 'ingressgateway' }] });

    expect(await cluster.deleteDeployment('istio-ingress', 'ingressgateway')).toBe('deleted');
    expect(cluster.workloadsIn('istio-ingress').map((w) => w.name)).toEqual(['ingressgateway']);
    expect(
      cluster.podsOfWorkload({ namespace: 'istio-ingress', kind: 'Deployment', name: 'ingressgateway' }),
    ).toHaveLength(2);

    cluster.setFaults({});
    expect(await cluster.deleteDeployment('istio-ingress', 'ingressgateway')).toBe('deleted');
    expect(cluster.workloadsIn('istio-ingress')).toEqual([]);
    cluster.close();
  });
});
