// A cluster as far as node waves see it (ADR 0051), for the unit tests of node waves and of the agent's steps.
import type { AmbientPort, DaemonSetView, NodePatch, NodePodView, NodeView } from '../ports/ambient-port.js';

export const OLD = 'istio/ztunnel:1.24.5';
export const NEW = 'istio/ztunnel:1.25.2';

/**
 * A cluster as far as node waves see it: nodes, a ztunnel DaemonSet on OnDelete whose controller makes a node's
 * next pod (from the template, not ready yet) when its pod is deleted, pods becoming ready at the next pass, and
 * ambient workload pods on each node. It counts the cordoned nodes after every write, as a watch would.
 */
export class FakeNodeCluster implements AmbientPort {
  readonly nodes = new Map<string, NodeView>();
  readonly agentPods = new Map<string, NodePodView>();
  readonly workloadPods: NodePodView[] = [];
  template = NEW;
  maxCordoned = 0;
  readonly evicted: string[] = [];
  private seq = 0;

  constructor(nodes: number) {
    for (let i = 0; i < nodes; i++) {
      const name = `n${i}`;
      this.nodes.set(name, { name, labels: {}, annotations: {}, unschedulable: false });
      this.agentPods.set(name, this.newAgentPod(name, OLD, true));
      this.workloadPods.push(this.newWorkloadPod(name));
    }
  }

  newAgentPod(node: string, image: string, ready: boolean): NodePodView {
    return {
      namespace: 'istio-system',
      name: `ztunnel-${this.seq++}`,
      nodeName: node,
      labels: { app: 'ztunnel' },
      ownerKind: 'DaemonSet',
      containers: [{ name: 'istio-proxy', image }],
      ready,
      terminating: false,
    };
  }

  newWorkloadPod(node: string): NodePodView {
    return {
      ...this.newAgentPod(node, 'app', true),
      namespace: 'mall',
      name: `app-${this.seq++}`,
      ownerKind: 'ReplicaSet',
    };
  }

  /** pods made since the last pass become ready (kwok makes them ready at once) */
  settle(): void {
    for (const [n, p] of this.agentPods) if (!p.ready) this.agentPods.set(n, { ...p, ready: true });
  }

  cordoned(): string[] {
    return [...this.nodes.values()].filter((n) => n.unschedulable).map((n) => n.name);
  }

  listNodes = async (): Promise<NodeView[]> => [...this.nodes.values()];
  async patchNode(name: string, patch: NodePatch): Promise<void> {
    const n = this.nodes.get(name)!;
    const annotations: Record<string, string> = { ...n.annotations };
    for (const [k, v] of Object.entries(patch.annotations ?? {}))
      if (v === null) delete annotations[k];
      else annotations[k] = v;
    this.nodes.set(name, { ...n, annotations, unschedulable: patch.unschedulable ?? n.unschedulable });
    this.maxCordoned = Math.max(this.maxCordoned, this.cordoned().length);
  }
  listDaemonSets = async (): Promise<DaemonSetView[]> => [
    {
      namespace: 'istio-system',
      name: 'ztunnel',
      labels: {},
      annotations: {},
      templateLabels: { app: 'ztunnel' },
      templateAnnotations: {},
      images: { 'istio-proxy': this.template },
      selector: { app: 'ztunnel' },
      updateStrategy: 'OnDelete',
      observed: true,
    },
  ];
  podsLabelled = async (): Promise<NodePodView[]> => [...this.agentPods.values()];
  podsOnNode = async (node: string): Promise<NodePodView[]> => [
    ...this.workloadPods.filter((p) => p.nodeName === node),
    ...[...this.agentPods.values()].filter((p) => p.nodeName === node),
  ];
  ambientNamespaces = async (): Promise<Set<string>> => new Set(['mall']);
  async deletePod(_: string, name: string): Promise<'deleted' | 'absent'> {
    const node = [...this.agentPods].find(([, p]) => p.name === name)?.[0];
    if (node === undefined) return 'absent';
    this.agentPods.set(node, this.newAgentPod(node, this.template, false));
    return 'deleted';
  }
  async evictPod(_: string, name: string): Promise<'evicted' | 'absent' | 'blocked'> {
    const i = this.workloadPods.findIndex((p) => p.name === name);
    if (i < 0) return 'absent';
    this.evicted.push(name);
    this.workloadPods.splice(i, 1);
    return 'evicted';
  }
  listWaypoints = async (): Promise<never[]> => [];
  labelWaypoint = async (): Promise<void> => undefined;
}
