import { describe, expect, it } from 'vitest';
import { MAX_NODES } from '@meshwave/contracts';
import type { DaemonSetView, NodePodView, NodeView } from '../ports/ambient-port.js';
import { ambientInventory, nodeAgentDaemonSets } from './ambient-inventory.js';

const newNode = (name: string, labels: Record<string, string> = {}, unschedulable = false): NodeView => ({
  name,
  labels,
  annotations: {},
  unschedulable,
});

const newDaemonSet = (over: Partial<DaemonSetView>): DaemonSetView => ({
  namespace: 'istio-system',
  name: 'ds',
  labels: {},
  annotations: {},
  templateLabels: {},
  templateAnnotations: {},
  images: {},
  selector: {},
  updateStrategy: 'OnDelete',
  observed: true,
  ...over,
});

const ztunnel = newDaemonSet({
  name: 'ztunnel',
  templateLabels: { app: 'ztunnel' },
  templateAnnotations: { 'istio.io/rev': '1-25-2' },
  images: { 'istio-proxy': 'istio/ztunnel:1.25.2' },
});
const cni = newDaemonSet({
  name: 'istio-cni-node',
  updateStrategy: 'RollingUpdate',
  templateLabels: { 'k8s-app': 'istio-cni-node', 'istio.io/rev': 'default' },
  images: { 'install-cni': 'istio/install-cni:1.24.5' },
});

const newAgentPod = (node: string, image: string, container = 'istio-proxy', terminating = false): NodePodView => ({
  namespace: 'istio-system',
  name: `${node}-${image}`,
  nodeName: node,
  labels: {},
  ownerKind: 'DaemonSet',
  containers: [{ name: container, image }],
  ready: true,
  terminating,
});

describe('ambient mode in the agent inventory (ADR 0051)', () => {
  it('Given nodes in pools, the two node agents and their pods, Then each node says which version of each runs on it', () => {
    const agents = nodeAgentDaemonSets([
      ztunnel,
      cni,
      newDaemonSet({ name: 'fluentd', templateLabels: { app: 'fluentd' } }),
    ]);
    const inv = ambientInventory({
      nodes: [newNode('n2', { 'cloud.google.com/gke-nodepool': 'ambient' }, true), newNode('n1')],
      agents,
      agentPods: new Map([
        [
          'ztunnel',
          [
            newAgentPod('n1', 'istio/ztunnel:1.24.5'),
            newAgentPod('n2', 'istio/ztunnel:1.25.2'),
            newAgentPod('n2', 'istio/ztunnel:1.24.5', 'istio-proxy', true),
          ],
        ],
        ['istio-cni', [newAgentPod('n1', 'istio/install-cni:1.24.5', 'install-cni')]],
      ]),
      waypoints: [
        {
          namespace: 'shop',
          name: 'waypoint',
          labels: { 'istio.io/waypoint-for': 'service', 'istio.io/rev': '1-24-5' },
        },
        { namespace: 'shop', name: 'ingress', labels: {} },
      ],
    });
    expect(inv.nodes.map((n) => [n.name, n.pool, n.unschedulable, n.agents])).toEqual([
      ['n1', undefined, false, { ztunnel: '1.24.5', 'istio-cni': '1.24.5' }],
      ['n2', 'ambient', true, { ztunnel: '1.25.2' }],
    ]);
    expect(inv.nodeAgents).toEqual([
      {
        kind: 'ztunnel',
        namespace: 'istio-system',
        name: 'ztunnel',
        revision: '1-25-2',
        version: '1.25.2',
        updateStrategy: 'OnDelete',
      },
      {
        kind: 'istio-cni',
        namespace: 'istio-system',
        name: 'istio-cni-node',
        revision: 'default',
        version: '1.24.5',
        updateStrategy: 'RollingUpdate',
      },
    ]);
    expect(inv.waypoints).toEqual([{ namespace: 'shop', name: 'waypoint', revision: '1-24-5', for: 'service' }]);
  });

  it('Given more nodes than the contract allows, Then the first by name are reported rather than no inventory', () => {
    const nodes = Array.from({ length: MAX_NODES + 2 }, (_, i) => newNode(`n${String(i).padStart(5, '0')}`));
    const inv = ambientInventory({ nodes, agents: [], agentPods: new Map(), waypoints: [] });
    expect(inv.nodes).toHaveLength(MAX_NODES);
    expect(inv.nodes.at(-1)!.name).toBe(`n${String(MAX_NODES - 1).padStart(5, '0')}`);
  });
});
