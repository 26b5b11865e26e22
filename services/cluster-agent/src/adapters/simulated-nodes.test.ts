import { describe, expect, it } from 'vitest';
import { createManualClock } from '@meshwave/reconcile';
import { NodeState, nodeWavePass } from '../runtime/node-wave.js';
import { createSimulatedCluster } from './simulated-cluster.js';

// The simulated cluster's pods on nodes (ADR 0057): placed on the schedulable nodes in turn, indexed by node, and
// evicted by a drain, their owners making the next ones on other nodes.

const AMBIENT = { 'istio.io/dataplane-mode': 'ambient' };

/** `nodes` nodes whose ztunnel template runs 1.25.2 while its pods run 1.24.5; `orders` is an ambient namespace. */
function newNodeCluster(nodes: number, workloads: { name: string; replicas: number }[], others = 0) {
  const clock = createManualClock();
  const cluster = createSimulatedCluster({
    clock,
    podStartMs: 1000,
    namespaces: [
      { name: 'orders', labels: AMBIENT, workloads },
      { name: 'shop', workloads: Array.from({ length: others }, (_, i) => ({ name: `w${i}` })) },
    ],
    ambient: {
      nodes: Array.from({ length: nodes }, (_, i) => ({ name: `node-${i}` })),
      nodeAgents: [{ kind: 'ztunnel', revision: '1-25-2', version: '1.25.2', podVersion: '1.24.5' }],
    },
  });
  return { clock, cluster, ambient: cluster.ambient };
}

/** The pods of workloads in `namespace` on each node, by node name. */
function workloadPodsByNode(
  ambient: ReturnType<typeof newNodeCluster>['ambient'],
  nodes: number,
  namespace: string,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < nodes; i++) {
    const pods = ambient.podsRunningOn(`node-${i}`).filter((p) => p.namespace === namespace);
    out.set(
      `node-${i}`,
      pods.map((p) => p.name),
    );
  }
  return out;
}

describe('pods of the simulated cluster on nodes (ADR 0057)', () => {
  it('Given 4 nodes, When 8 pods are made, Then 2 run on each node; When a node is cordoned, Then no new pod runs there', async () => {
    const { cluster, ambient } = newNodeCluster(4, [{ name: 'api', replicas: 8 }]);
    expect([...workloadPodsByNode(ambient, 4, 'orders').values()].map((p) => p.length)).toEqual([2, 2, 2, 2]);
    const onNode = await ambient.podsOnNode('node-0');
    expect(onNode.filter((p) => p.namespace === 'orders').map((p) => [p.nodeName, p.ownerKind])).toEqual([
      ['node-0', 'ReplicaSet'],
      ['node-0', 'ReplicaSet'],
    ]);

    await ambient.patchNode('node-1', { unschedulable: true });
    cluster.createWorkload({ namespace: 'orders', name: 'ledger', replicas: 6 });
    const ledger = (node: string) => ambient.podsRunningOn(node).filter((p) => p.name.startsWith('ledger-'));
    expect(['node-0', 'node-1', 'node-2', 'node-3'].map((n) => ledger(n).length)).toEqual([2, 0, 2, 2]);

    // uncordoned, it takes pods again
    await ambient.patchNode('node-1', { unschedulable: false });
    cluster.createWorkload({ namespace: 'orders', name: 'batch', replicas: 4 });
    const batch = (node: string) => ambient.podsRunningOn(node).filter((p) => p.name.startsWith('batch-'));
    expect(['node-0', 'node-1', 'node-2', 'node-3'].map((n) => batch(n).length)).toEqual([1, 1, 1, 1]);
    cluster.close();
  });

  it('Given every node cordoned, or no node at all, When a pod is made, Then it runs on no node', async () => {
    const { cluster, ambient } = newNodeCluster(2, []);
    await ambient.patchNode('node-0', { unschedulable: true });
    await ambient.patchNode('node-1', { unschedulable: true });
    const w = cluster.createWorkload({ namespace: 'orders', name: 'api', replicas: 2 });
    expect(cluster.podsOfWorkload(w).map((p) => p.ready)).toEqual([true, true]);
    expect([...workloadPodsByNode(ambient, 2, 'orders').values()]).toEqual([[], []]);

    const plain = createSimulatedCluster({ namespaces: [{ name: 'shop', workloads: [{ name: 'web' }] }] });
    expect(plain.podsOfWorkload({ namespace: 'shop', kind: 'Deployment', name: 'web' })).toHaveLength(1);
    expect(await plain.ambient.podsOnNode('node-0')).toEqual([]);
    plain.close();
    cluster.close();
  });

  it('Given 2,000 workloads over 4 nodes, When the pods of one node are read, Then the read visits only that node’s pods', async () => {
    const { cluster, ambient } = newNodeCluster(4, [], 2000);
    const before = cluster.stats().objectsVisited;
    const pods = await ambient.podsOnNode('node-2');
    // 500 workload pods and the node's ztunnel pod: found through the index by node, no other pod walked
    expect(pods.length).toBe(501);
    expect(cluster.stats().objectsVisited - before).toBe(501);
    cluster.close();
  });

  it('Given ambient pods on 4 nodes, When a ztunnel wave drains 2 of them, Then their pods are evicted while cordoned and their owners run them on the other nodes', async () => {
    const { clock, cluster, ambient } = newNodeCluster(4, [
      { name: 'api', replicas: 3 },
      { name: 'ledger', replicas: 2 },
    ]);
    const drained = ['node-0', 'node-1'];
    const before = workloadPodsByNode(ambient, 4, 'orders');
    expect(drained.flatMap((n) => before.get(n)!).length).toBeGreaterThan(0);
    // the test's own watch: at each uncordon, the ambient pods still on the node
    const leftAtUncordon = new Map<string, string[]>();
    ambient.watchNodes((n) => {
      if (!n.unschedulable)
        leftAtUncordon.set(
          n.name,
          ambient
            .podsRunningOn(n.name)
            .filter((p) => p.namespace === 'orders')
            .map((p) => p.name),
        );
    });
    const wave = {
      component: 'ztunnel' as const,
      version: '1.25.2',
      nodes: drained,
      maxUnavailable: 2,
      policy: 'drain' as const,
      graceMs: 10_000,
    };
    let passes = 0;
    for (; passes < 40; passes++) {
      const progress = await nodeWavePass(ambient, wave, clock.now());
      if (progress.every((p) => p.state === NodeState.Converged)) break;
      await clock.advance(500);
    }
    expect(passes).toBeLessThan(40);
    await Promise.resolve();

    // Then the drained nodes had none of their ambient pods when they were uncordoned
    expect(Object.fromEntries(leftAtUncordon)).toEqual({ 'node-0': [], 'node-1': [] });
    // and every pod that ran there is gone, its owner running the next one on a node not drained
    const after = workloadPodsByNode(ambient, 4, 'orders');
    const everywhere = [...after.values()].flat();
    for (const pod of drained.flatMap((n) => before.get(n)!)) expect(everywhere).not.toContain(pod);
    expect(after.get('node-2')!.length + after.get('node-3')!.length).toBe(5);
    await clock.advance(1000);
    expect(cluster.workloadsIn('orders').map((w) => [w.name, w.availableReplicas])).toEqual([
      ['api', 3],
      ['ledger', 2],
    ]);
    cluster.close();
  });
});
