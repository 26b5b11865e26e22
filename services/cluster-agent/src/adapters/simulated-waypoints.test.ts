import { describe, expect, it } from 'vitest';
import { createManualClock } from '@meshwave/reconcile';
import { waypointPass, waypointPodRevision } from '../runtime/waypoint-move.js';
import { createSimulatedCluster } from './simulated-cluster.js';

// Waypoints of the simulated cluster with the pods istiod runs for them (ADR 0057): rendered on the Gateway's
// `istio.io/rev`, rendered again when it changes, Ready after the simulated pod start.

function newWaypointCluster() {
  const clock = createManualClock();
  const cluster = createSimulatedCluster({
    clock,
    podStartMs: 1000,
    namespaces: [{ name: 'orders', labels: { 'istio.io/dataplane-mode': 'ambient' } }],
    ambient: {
      nodes: [{ name: 'node-0' }, { name: 'node-1' }],
      waypoints: [{ namespace: 'orders', name: 'waypoint', revision: '1-24-5', replicas: 2 }],
    },
  });
  return { clock, cluster, ambient: cluster.ambient };
}

const GATEWAY = { 'gateway.networking.k8s.io/gateway-name': 'waypoint' };

describe('waypoint pods of the simulated cluster (ADR 0057)', () => {
  it('Given a waypoint on 1-24-5, When it is read, Then istiod runs its pods Ready on that revision, never injected, on nodes', async () => {
    const { cluster, ambient } = newWaypointCluster();
    const pods = await ambient.podsLabelled('orders', GATEWAY);
    expect(pods.map((p) => [waypointPodRevision(p), p.ready, p.containers.map((c) => c.image)])).toEqual([
      ['1-24-5', true, ['docker.io/istio/proxyv2:1.24.5']],
      ['1-24-5', true, ['docker.io/istio/proxyv2:1.24.5']],
    ]);
    expect(pods.map((p) => p.labels['sidecar.istio.io/inject'])).toEqual(['false', 'false']);
    expect(pods.map((p) => p.nodeName).sort()).toEqual(['node-0', 'node-1']);
    // they are no workloads of the cluster
    expect(await cluster.listWorkloads('orders')).toEqual([]);
    cluster.close();
  });

  it('Given a waypoint on 1-24-5, When a waypoint step moves it to 1-25-2, Then it waits until its new pods are Ready and the old ones gone', async () => {
    const { clock, cluster, ambient } = newWaypointCluster();
    const waypoints = [{ namespace: 'orders', name: 'waypoint' }];
    expect(await waypointPass(ambient, waypoints, '1-25-2')).toEqual([
      { namespace: 'orders', name: 'waypoint', state: 'moving', detail: 'relabelled to 1-25-2' },
    ]);
    // istiod renders the Deployment on 1-25-2: new pods starting beside the old ones
    expect(await waypointPass(ambient, waypoints, '1-25-2')).toEqual([
      { namespace: 'orders', name: 'waypoint', state: 'moving', detail: '2 pod(s) not on 1-25-2' },
    ]);
    const during = await ambient.podsLabelled('orders', GATEWAY);
    expect(during.map((p) => `${waypointPodRevision(p)}:${p.ready}`).sort()).toEqual([
      '1-24-5:true',
      '1-24-5:true',
      '1-25-2:false',
      '1-25-2:false',
    ]);

    await clock.advance(1000);
    expect(await waypointPass(ambient, waypoints, '1-25-2')).toEqual([
      { namespace: 'orders', name: 'waypoint', state: 'converged' },
    ]);
    const after = await ambient.podsLabelled('orders', GATEWAY);
    expect(after.map((p) => [waypointPodRevision(p), p.ready, p.containers[0]!.image])).toEqual([
      ['1-25-2', true, 'docker.io/istio/proxyv2:1.25.2'],
      ['1-25-2', true, 'docker.io/istio/proxyv2:1.25.2'],
    ]);
    // a label already on the revision renders nothing again
    await ambient.labelWaypoint('orders', 'waypoint', '1-25-2');
    expect((await ambient.podsLabelled('orders', GATEWAY)).map((p) => p.name)).toEqual(after.map((p) => p.name));
    cluster.close();
  });

  it('Given a waypoint pod on a cordoned node, When it is evicted, Then its Deployment runs the next one on the other node, Ready after the start', async () => {
    const { clock, cluster, ambient } = newWaypointCluster();
    await ambient.patchNode('node-0', { unschedulable: true });
    const [onCordoned] = (await ambient.podsOnNode('node-0')).filter((p) => p.labels[Object.keys(GATEWAY)[0]!]);
    expect(onCordoned?.ownerKind).toBe('ReplicaSet');
    expect(await ambient.evictPod('orders', onCordoned!.name)).toBe('evicted');
    expect(await ambient.evictPod('orders', onCordoned!.name)).toBe('absent');

    const pods = await ambient.podsLabelled('orders', GATEWAY);
    expect(pods.map((p) => [p.nodeName, p.ready]).sort()).toEqual([
      ['node-1', false],
      ['node-1', true],
    ]);
    await clock.advance(1000);
    expect((await ambient.podsLabelled('orders', GATEWAY)).map((p) => p.ready)).toEqual([true, true]);
    cluster.close();
  });
});
