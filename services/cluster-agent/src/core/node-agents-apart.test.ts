import { describe, expect, it } from 'vitest';
import { observeUnit } from './unit-observation.js';
import { newDeploymentView } from './command-fixtures.js';

describe('node agents move apart from their namespace (ADR 0051)', () => {
  it('Given a ztunnel and an istio-cni DaemonSet beside a workload, When a namespace unit restarts, Then it restarts only the workload', () => {
    const web = {
      ...newDeploymentView({ name: 'web', replicas: 2 }),
      namespace: 'mesh',
      templateLabels: { app: 'web' },
      selector: { app: 'web' },
    };
    const ztunnel = {
      ...newDeploymentView({ name: 'ztunnel', replicas: 3 }),
      namespace: 'mesh',
      kind: 'DaemonSet' as const,
      templateLabels: { app: 'ztunnel' },
    };
    const cni = { ...ztunnel, name: 'istio-cni-node', templateLabels: { 'k8s-app': 'istio-cni-node' } };
    const o = observeUnit({ namespace: 'mesh', revision: '1-25-2' }, undefined, [ztunnel, web, cni], []);
    expect(o.workloads.map((w) => w.workload.name)).toEqual(['web']);
  });

  it('Given a waypoint’s Deployment beside a workload, When a namespace unit restarts, Then it restarts only the workload (ADR 0057)', () => {
    const web = {
      ...newDeploymentView({ name: 'web', replicas: 2 }),
      namespace: 'mesh',
      templateLabels: { app: 'web' },
      selector: { app: 'web' },
    };
    const waypointLabels = {
      'gateway.networking.k8s.io/gateway-name': 'waypoint',
      'gateway.istio.io/managed': 'istio.io-mesh-controller',
    };
    const waypoint = {
      ...newDeploymentView({ name: 'waypoint', replicas: 2 }),
      namespace: 'mesh',
      labels: waypointLabels,
      templateLabels: waypointLabels,
      selector: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' },
    };
    const o = observeUnit({ namespace: 'mesh', revision: '1-25-2' }, undefined, [waypoint, web], []);
    expect(o.workloads.map((w) => w.workload.name)).toEqual(['web']);
  });
});
