import { describe, expect, it } from 'vitest';
import { createManualClock } from '@meshwave/reconcile';
import { readAmbient } from '../runtime/ambient-reader.js';
import { NodeState, nodeWavePass } from '../runtime/node-wave.js';
import { waypointPass } from '../runtime/waypoint-move.js';
import { createSimulatedCluster } from './simulated-cluster.js';

const POOL = 'meshwave.io/node-pool';

/** A cluster of `nodes` nodes whose node agents' templates were updated to 1.25.2 while their pods run 1.24.5. */
function newAmbientCluster(nodes: number, workloads = 0) {
  const clock = createManualClock();
  const cluster = createSimulatedCluster({
    clock,
    podStartMs: 1000,
    namespaces: [
      {
        name: 'orders',
        labels: { 'istio.io/dataplane-mode': 'ambient' },
        workloads: Array.from({ length: workloads }, (_, i) => ({ name: `w${i}` })),
      },
    ],
    ambient: {
      nodes: Array.from({ length: nodes }, (_, i) => ({
        name: `node-${i}`,
        labels: { [POOL]: i % 2 === 0 ? 'ambient-a' : 'ambient-b' },
      })),
      nodeAgents: [
        { kind: 'istio-cni', revision: '1-25-2', version: '1.25.2', podVersion: '1.24.5' },
        { kind: 'ztunnel', revision: '1-25-2', version: '1.25.2', podVersion: '1.24.5' },
      ],
      waypoints: [{ namespace: 'orders', name: 'waypoint', revision: '1-24-5' }],
    },
  });
  return { clock, cluster, ambient: cluster.ambient };
}

const ztunnelWave = (nodes: string[], maxUnavailable: number) => ({
  component: 'ztunnel' as const,
  version: '1.25.2',
  nodes,
  maxUnavailable,
  policy: 'wait' as const,
  graceMs: 0,
});

describe('the simulated cluster in ambient mode (ADR 0051)', () => {
  it('Given nodes, node agents and a waypoint, When the agent reads ambient mode, Then it sees them as Istio charts write them', async () => {
    const { cluster, ambient } = newAmbientCluster(3);
    const inventory = await readAmbient(ambient);
    expect(inventory.nodes.map((n) => [n.name, n.pool, n.agents])).toEqual([
      ['node-0', 'ambient-a', { 'istio-cni': '1.24.5', ztunnel: '1.24.5' }],
      ['node-1', 'ambient-b', { 'istio-cni': '1.24.5', ztunnel: '1.24.5' }],
      ['node-2', 'ambient-a', { 'istio-cni': '1.24.5', ztunnel: '1.24.5' }],
    ]);
    expect(inventory.nodeAgents).toEqual([
      expect.objectContaining({ kind: 'istio-cni', name: 'istio-cni-node', revision: '1-25-2', version: '1.25.2' }),
      expect.objectContaining({ kind: 'ztunnel', name: 'ztunnel', revision: '1-25-2', updateStrategy: 'OnDelete' }),
    ]);
    expect(inventory.waypoints).toEqual([
      { namespace: 'orders', name: 'waypoint', revision: '1-24-5', for: 'service' },
    ]);
    // and node agents are no workloads of the cluster
    expect((await cluster.listWorkloads('istio-system')).length).toBe(0);
    expect(await ambient.ambientNamespaces()).toEqual(new Set(['orders']));
    cluster.close();
  });

  it('Given a ztunnel pod on a cordoned node, When it is deleted, Then its DaemonSet makes the next one there on the current template, Ready after the start time', async () => {
    const { clock, cluster, ambient } = newAmbientCluster(2);
    const seen: boolean[] = [];
    ambient.watchNodes((n) => n.name === 'node-0' && seen.push(n.unschedulable));
    await ambient.patchNode('node-0', {
      unschedulable: true,
      annotations: { 'meshwave.io/ambient-step': 'ztunnel@1.25.2' },
    });
    const [old] = (await ambient.podsOnNode('node-0')).filter((p) => p.labels.app === 'ztunnel');
    expect(await ambient.deletePod(old!.namespace, old!.name)).toBe('deleted');
    expect(await ambient.deletePod(old!.namespace, old!.name)).toBe('absent');

    const next = (await ambient.podsOnNode('node-0')).filter((p) => p.labels.app === 'ztunnel');
    expect(next.map((p) => [p.ready, p.containers[0]!.image])).toEqual([[false, 'docker.io/istio/ztunnel:1.25.2']]);
    await clock.advance(1000);
    expect((await ambient.podsOnNode('node-0')).find((p) => p.labels.app === 'ztunnel')?.ready).toBe(true);
    // the other node's pod and the node's istio-cni pod are untouched
    const other = await ambient.podsOnNode('node-1');
    expect(other.map((p) => p.containers[0]!.image).sort()).toEqual([
      'docker.io/istio/install-cni:1.24.5',
      'docker.io/istio/ztunnel:1.24.5',
    ]);

    await ambient.patchNode('node-0', { unschedulable: false, annotations: { 'meshwave.io/ambient-step': null } });
    const node = (await ambient.listNodes()).find((n) => n.name === 'node-0')!;
    expect([node.unschedulable, node.annotations]).toEqual([false, {}]);
    await Promise.resolve();
    expect(seen).toEqual([true, false]);
    cluster.close();
  });

  it('Given 5 nodes and maxUnavailable 2, When the agent runs a node wave over them, Then every ztunnel ends on the template, never more than 2 nodes cordoned, none left cordoned', async () => {
    const { clock, cluster, ambient } = newAmbientCluster(5);
    const cordoned = new Set<string>();
    let most = 0;
    ambient.watchNodes((n) => {
      if (n.unschedulable) cordoned.add(n.name);
      else cordoned.delete(n.name);
      most = Math.max(most, cordoned.size);
    });
    const names = (await ambient.listNodes()).map((n) => n.name);
    let passes = 0;
    for (; passes < 40; passes++) {
      const progress = await nodeWavePass(ambient, ztunnelWave(names, 2), clock.now());
      if (progress.every((p) => p.state === NodeState.Converged)) break;
      await clock.advance(500);
    }
    expect(passes).toBeLessThan(40);
    await Promise.resolve();
    expect(most).toBe(2);
    const inventory = await readAmbient(ambient);
    expect(inventory.nodes.map((n) => n.agents.ztunnel)).toEqual(Array(5).fill('1.25.2'));
    expect(inventory.nodes.map((n) => n.agents['istio-cni'])).toEqual(Array(5).fill('1.24.5'));
    expect(inventory.nodes.filter((n) => n.unschedulable)).toEqual([]);
    cluster.close();
  });

  it('Given a waypoint on the old revision, When a waypoint step moves it, Then its istio.io/rev label is the new revision and it converges once its new pod started', async () => {
    const { clock, cluster, ambient } = newAmbientCluster(1);
    const waypoints = [{ namespace: 'orders', name: 'waypoint' }];
    // the first pass relabels; the next waits for istiod's new pod (simulated-waypoints.test.ts), then converges
    expect(await waypointPass(ambient, waypoints, '1-25-2')).toEqual([
      { namespace: 'orders', name: 'waypoint', state: 'moving', detail: 'relabelled to 1-25-2' },
    ]);
    expect(await waypointPass(ambient, waypoints, '1-25-2')).toEqual([
      { namespace: 'orders', name: 'waypoint', state: 'moving', detail: '1 pod(s) not on 1-25-2' },
    ]);
    await clock.advance(1000);
    expect(await waypointPass(ambient, waypoints, '1-25-2')).toEqual([
      { namespace: 'orders', name: 'waypoint', state: 'converged' },
    ]);
    expect((await ambient.listWaypoints())[0]!.labels['istio.io/rev']).toBe('1-25-2');
    await expect(ambient.labelWaypoint('orders', 'none', '1-25-2')).rejects.toThrow(/not found/);
    cluster.close();
  });

  it('Given 2,000 workloads beside 4 nodes, When a node wave pass runs, Then it walks only the nodes and node-agent pods', async () => {
    const { clock, cluster, ambient } = newAmbientCluster(4, 2000);
    const names = (await ambient.listNodes()).map((n) => n.name);
    const before = cluster.stats().objectsVisited;
    await nodeWavePass(ambient, ztunnelWave(names, 1), clock.now());
    // a list of the 4 nodes and of the 4 ztunnel pods: no workload or workload pod visited
    expect(cluster.stats().objectsVisited - before).toBe(8);
    cluster.close();
  });
});
