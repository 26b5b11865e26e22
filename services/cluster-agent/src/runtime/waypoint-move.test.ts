import { describe, expect, it } from 'vitest';
import type { AmbientPort, NodePodView, WaypointView } from '../ports/ambient-port.js';
import { waypointPass } from './waypoint-move.js';

const newWaypointPod = (namespace: string, gateway: string, revision: string, ready = true): NodePodView => ({
  namespace,
  name: `${gateway}-${revision}`,
  nodeName: 'n0',
  labels: { 'gateway.networking.k8s.io/gateway-name': gateway, 'sidecar.istio.io/inject': 'false' },
  annotations: { 'istio.io/rev': revision },
  ownerKind: 'ReplicaSet',
  containers: [{ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.25.2' }],
  ready,
  terminating: false,
});

/** Waypoints and the pods istiod runs for them: relabelling one only records the write. */
function newWaypointCluster(waypoints: WaypointView[], pods: NodePodView[]): { port: AmbientPort; writes: string[] } {
  const writes: string[] = [];
  const port = {
    listWaypoints: async () => waypoints,
    labelWaypoint: async (namespace: string, name: string, revision: string) => {
      writes.push(`${namespace}/${name}=${revision}`);
      const w = waypoints.find((x) => x.namespace === namespace && x.name === name)!;
      waypoints[waypoints.indexOf(w)] = { ...w, labels: { ...w.labels, 'istio.io/rev': revision } };
    },
    podsLabelled: async (namespace: string, labels: Record<string, string>) =>
      pods.filter((p) => p.namespace === namespace && Object.entries(labels).every(([k, v]) => p.labels[k] === v)),
  } as unknown as AmbientPort;
  return { port, writes };
}

describe('a waypoint step (ADR 0051, 0056)', () => {
  it('Given waypoints on the old revision, Then each is relabelled once, and a missing one fails', async () => {
    const waypoints: WaypointView[] = [
      { namespace: 'mall', name: 'waypoint', labels: { 'istio.io/waypoint-for': 'service', 'istio.io/rev': '1-24-5' } },
      { namespace: 'shop', name: 'waypoint', labels: { 'istio.io/waypoint-for': 'service', 'istio.io/rev': '1-25-2' } },
    ];
    const { port, writes } = newWaypointCluster(waypoints, [newWaypointPod('shop', 'waypoint', '1-25-2')]);
    const wanted = [
      { namespace: 'mall', name: 'waypoint' },
      { namespace: 'shop', name: 'waypoint' },
      { namespace: 'gone', name: 'waypoint' },
    ];
    expect((await waypointPass(port, wanted, '1-25-2')).map((p) => p.state)).toEqual(['moving', 'converged', 'failed']);
    await waypointPass(port, wanted, '1-25-2');
    expect(writes).toEqual(['mall/waypoint=1-25-2']);
  });

  it('Given a relabelled waypoint, Then it converges only once every live pod istiod runs for it is ready on the revision', async () => {
    const waypoints: WaypointView[] = [
      { namespace: 'mall', name: 'waypoint', labels: { 'istio.io/waypoint-for': 'service', 'istio.io/rev': '1-25-2' } },
    ];
    const pods = [newWaypointPod('mall', 'waypoint', '1-24-5'), newWaypointPod('mall', 'other', '1-24-5')];
    const { port } = newWaypointCluster(waypoints, pods);
    const wanted = [{ namespace: 'mall', name: 'waypoint' }];
    expect(await waypointPass(port, wanted, '1-25-2')).toEqual([
      { namespace: 'mall', name: 'waypoint', state: 'moving', detail: '1 pod(s) not on 1-25-2' },
    ]);
    // istiod re-renders the Deployment: the old pod terminates, the new one starts
    pods[0] = { ...pods[0]!, terminating: true };
    pods.push(newWaypointPod('mall', 'waypoint', '1-25-2', false));
    expect((await waypointPass(port, wanted, '1-25-2'))[0]?.detail).toBe('1 pod(s) on 1-25-2 not ready');
    pods[2] = { ...pods[2]!, ready: true };
    expect((await waypointPass(port, wanted, '1-25-2'))[0]?.state).toBe('converged');
  });

  it('Given a rollout whose `to` is a tag, Then the waypoint is labelled with the tag and converges once its pods run the revision the tag points at', async () => {
    // istiod's waypoint template (istio/istio manifests/charts/istio-control/istio-discovery/files/waypoint.yaml)
    // writes its own revision as the pod's `istio.io/rev` annotation, and copies the Gateway's labels (the tag
    // included) onto the pod
    const waypoints: WaypointView[] = [
      { namespace: 'mall', name: 'waypoint', labels: { 'istio.io/waypoint-for': 'service', 'istio.io/rev': '1-24-5' } },
    ];
    const pods = [newWaypointPod('mall', 'waypoint', '1-24-5')];
    const { port, writes } = newWaypointCluster(waypoints, pods);
    const wanted = [{ namespace: 'mall', name: 'waypoint' }];
    const tags = (name: string) => (name === 'prod-stable' ? '1-25-2' : undefined);
    expect((await waypointPass(port, wanted, 'prod-stable', tags))[0]?.state).toBe('moving');
    expect(writes).toEqual(['mall/waypoint=prod-stable']);
    expect((await waypointPass(port, wanted, 'prod-stable', tags))[0]?.detail).toBe('1 pod(s) not on prod-stable');
    const rendered = newWaypointPod('mall', 'waypoint', '1-25-2');
    pods[0] = { ...rendered, labels: { ...rendered.labels, 'istio.io/rev': 'prod-stable' } };
    expect(await waypointPass(port, wanted, 'prod-stable', tags)).toEqual([
      { namespace: 'mall', name: 'waypoint', state: 'converged' },
    ]);
  });
});
