import { describe, expect, it } from 'vitest';
import { IstioLabel } from '@meshwave/istio';
import { createSimulatedCluster, type PodView, type SimulatedCluster } from '@meshwave/cluster-agent';
import type { Plan } from '@meshwave/contracts';
import { createManualClock } from '@meshwave/reconcile';
import { nodeAgentsOnTarget, overMaxUnavailable, peakRestarting, workloadsOnTarget } from './demo-ground-truth.js';

/** The demo's ground truth: right, and linear in the fleet (each pod looked at once, not once per workload). */

const WORKLOADS = 200;
const REPLICAS = 2;

/**
 * The cluster, counting pod visits: each time the caller's attention moves to another pod view (a filter over
 * every pod per workload visits workloads × pods; reading each workload's own pods visits each pod a few times).
 */
function withPodVisitsCounted(sim: SimulatedCluster): { cluster: SimulatedCluster; podVisits: () => number } {
  let last: PodView | undefined;
  let visits = 0;
  const counted = (pods: readonly PodView[]): PodView[] =>
    pods.map(
      (p) =>
        new Proxy(p, {
          get(target, key, receiver) {
            if (target !== last) visits++;
            last = target;
            return Reflect.get(target, key, receiver) as unknown;
          },
        }),
    );
  const cluster: SimulatedCluster = {
    ...sim,
    listPods: async (ns) => counted(await sim.listPods(ns)),
    podsOfWorkload: (ref) => counted(sim.podsOfWorkload(ref)),
  };
  return { cluster, podVisits: () => visits };
}

describe('demo ground truth', () => {
  it('counts the workloads on the target revision, leaving exclusions and system namespaces out', async () => {
    const sim = createSimulatedCluster({ name: 'c1', revisions: ['1-24-5', '1-25-2'] });
    sim.createNamespace('moved', { [IstioLabel.Revision]: '1-25-2' });
    sim.createNamespace('stayed', { [IstioLabel.Revision]: '1-24-5' });
    sim.createWorkload({ namespace: 'moved', name: 'a' });
    sim.createWorkload({ namespace: 'moved', name: 'b' });
    sim.createWorkload({ namespace: 'stayed', name: 'c' });
    sim.createWorkload({ namespace: 'kube-system', name: 'dns' });
    const result = await workloadsOnTarget([sim], new Set(['c1/moved/Deployment/b']), '1-25-2');
    expect(result).toEqual({ total: 2, onTarget: 1 });
    sim.close();
  });

  it(`looks at each pod a bounded number of times in a namespace of ${WORKLOADS} workloads`, async () => {
    const sim = createSimulatedCluster({ name: 'c1', revisions: ['1-25-2'] });
    sim.createNamespace('crowded', { [IstioLabel.Revision]: '1-25-2' });
    for (let i = 0; i < WORKLOADS; i++) sim.createWorkload({ namespace: 'crowded', name: `w${i}`, replicas: REPLICAS });
    const { cluster, podVisits } = withPodVisitsCounted(sim);
    expect(await workloadsOnTarget([cluster], new Set(), '1-25-2')).toEqual({ total: WORKLOADS, onTarget: WORKLOADS });
    // each pod: once to drop terminating ones, once to check its revision and readiness
    expect(podVisits()).toBeLessThanOrEqual(2 * WORKLOADS * REPLICAS);
    sim.close();
  });

  it('leaves the sidecarless workloads of an ambient namespace out, and counts node-agent pods on their template and the nodes left cordoned', async () => {
    const sim = createSimulatedCluster({
      name: 'c1',
      revisions: ['1-24-5', '1-25-2'],
      namespaces: [{ name: 'orders', labels: { 'istio.io/dataplane-mode': 'ambient' }, workloads: [{ name: 'api' }] }],
      ambient: { nodes: [{ name: 'n1' }, { name: 'n2' }], nodeAgents: [{ kind: 'ztunnel', version: '1.24.5' }] },
    });
    sim.createNamespace('moved', { [IstioLabel.Revision]: '1-25-2' });
    sim.createWorkload({ namespace: 'moved', name: 'a' });
    expect(await workloadsOnTarget([sim], new Set(), '1-25-2')).toEqual({ total: 1, onTarget: 1 });
    expect(await nodeAgentsOnTarget([sim])).toEqual({ total: 2, onTarget: 2, cordonedNodes: 0 });
    // the operator updates the template (OnDelete): no pod runs it yet; a node is cordoned
    sim.ambient.setNodeAgentVersion('ztunnel', '1.25.2');
    await sim.ambient.patchNode('n1', { unschedulable: true });
    expect(await nodeAgentsOnTarget([sim])).toEqual({ total: 2, onTarget: 0, cordonedNodes: 1 });
    sim.close();
  });

  it("names the clusters whose apiserver saw more workloads restarting at once than any wave's maxUnavailable there", async () => {
    const clock = createManualClock();
    const east = createSimulatedCluster({ name: 'east', clock, podStartMs: 1000 });
    const west = createSimulatedCluster({ name: 'west', clock, podStartMs: 1000 });
    for (const sim of [east, west]) {
      sim.createNamespace('shop');
      for (const name of ['a', 'b', 'c']) sim.createWorkload({ namespace: 'shop', name, replicas: 2 });
    }
    const restart = (sim: SimulatedCluster, names: string[]): Promise<unknown[]> =>
      Promise.all(
        names.map((name) =>
          sim.patchWorkload({ namespace: 'shop', kind: 'Deployment', name }, { templateAnnotations: { r: '1' } }),
        ),
      );
    await restart(east, ['a', 'b', 'c']);
    await restart(west, ['a', 'b']);
    await clock.advance(10_000);
    await restart(west, ['c']);
    const plan = {
      waves: [
        {
          clusters: [
            { cluster: 'east', maxUnavailable: 1 },
            { cluster: 'west', maxUnavailable: 1 },
          ],
        },
        {
          clusters: [
            { cluster: 'east', maxUnavailable: 2 },
            { cluster: 'west', maxUnavailable: 2 },
          ],
        },
      ],
    } as unknown as Plan;
    expect(peakRestarting([east, west])).toEqual({ east: 3, west: 2 });
    expect(overMaxUnavailable(plan, peakRestarting([east, west]))).toEqual([{ cluster: 'east', peak: 3, planned: 2 }]);
    east.close();
    west.close();
  });
});
