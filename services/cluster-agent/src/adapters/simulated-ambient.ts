import { NodeAgentKind, WorkloadKind } from '@meshwave/contracts';
import { AmbientLabel, DATAPLANE_MODE_AMBIENT, IstioLabel, NODE_AGENT_CONTAINERS } from '@meshwave/istio';
import type { TimerHandle } from '@meshwave/reconcile';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import type { AmbientPort, DaemonSetView, NodePodView, NodeView } from '../ports/ambient-port.js';
import { applyMapPatch, type Labels } from '../ports/kubernetes-port.js';
import type { SimPod, SimStore } from './simulated-store.js';
import { SimulatedWaypoints } from './simulated-waypoints.js';
import type { NodeChangeHandler, SimulatedAmbient, SimulatedNodeAgentSpec } from './simulated-ambient-types.js';

// Ambient mode on the simulated cluster (ADR 0051, 0057): nodes, the istio-cni and ztunnel DaemonSets as Istio's
// charts write them (one pod per node, `OnDelete`), and waypoints with the pods istiod runs for them, behind the
// agent's `AmbientPort`. Kept apart from the workloads: a node agent is never a workload (the agent filters it out of
// a real cluster's DaemonSets), so the workload lists, pod lists and watches do not show node agents, and clusters
// without nodes pay nothing. The nodes tell the store's scheduler which of them take new pods, so the workloads'
// pods run on nodes and a drain evicts them. Every read is indexed: pods by DaemonSet and by node (the workloads'
// pods too), so a pass costs what it returns.

interface SimNode {
  readonly name: string;
  labels: Labels;
  annotations: Labels;
  unschedulable: boolean;
}

interface SimDaemonSet {
  readonly kind: NodeAgentKind;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  templateLabels: Labels;
  readonly templateAnnotations: Labels;
  images: Labels;
  readonly selector: Labels;
  readonly updateStrategy: string;
  generation: number;
}

interface SimAgentPod {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  readonly daemonSet: string;
  readonly labels: Labels;
  readonly containers: { name: string; image: string }[];
  ready: boolean;
}

const DAEMONSET_NAMES: Record<NodeAgentKind, string> = {
  [NodeAgentKind.IstioCni]: 'istio-cni-node',
  ztunnel: 'ztunnel',
};
const IMAGES: Record<NodeAgentKind, string> = { [NodeAgentKind.IstioCni]: 'install-cni', ztunnel: 'ztunnel' };

/** The pod template labels and annotations of Istio's charts (ztunnel: revision annotation; istio-cni: label). */
function chartMetadata(spec: SimulatedNodeAgentSpec): { labels: Labels; annotations: Labels } {
  const revision = spec.revision ?? 'default';
  if (spec.kind === NodeAgentKind.Ztunnel)
    return {
      labels: { app: 'ztunnel', [AmbientLabel.Name]: 'ztunnel', [AmbientLabel.Version]: spec.version },
      annotations: { [IstioLabel.Revision]: revision },
    };
  return {
    labels: {
      'k8s-app': 'istio-cni-node',
      [AmbientLabel.Name]: 'istio-cni',
      [AmbientLabel.Version]: spec.version,
      [IstioLabel.Revision]: revision,
    },
    annotations: {},
  };
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

function indexIn<T>(index: Map<string, Map<string, T>>, at: string, k: string, value: T | undefined): void {
  let entries = index.get(at);
  if (value !== undefined) {
    if (entries === undefined) index.set(at, (entries = new Map()));
    entries.set(k, value);
  } else if (entries !== undefined) {
    entries.delete(k);
    if (entries.size === 0) index.delete(at);
  }
}

/** Deletes a workload's pod (its controller replaces it): what an eviction through the ambient port does. */
export interface WorkloadPodDeleter {
  has(namespace: string, name: string): boolean;
  delete(namespace: string, name: string): void;
}

const nodeView = (n: SimNode): NodeView => ({
  name: n.name,
  labels: n.labels,
  annotations: n.annotations,
  unschedulable: n.unschedulable,
});

const podView = (p: SimAgentPod): NodePodView => ({
  namespace: p.namespace,
  name: p.name,
  nodeName: p.nodeName,
  labels: p.labels,
  ownerKind: 'DaemonSet',
  containers: p.containers,
  ready: p.ready,
  terminating: false,
});

/** The kind of a workload pod's controller owner, as the apiserver names it. */
const OWNER_KINDS: Record<WorkloadKind, string> = {
  [WorkloadKind.Deployment]: 'ReplicaSet',
  [WorkloadKind.StatefulSet]: 'StatefulSet',
  [WorkloadKind.DaemonSet]: 'DaemonSet',
};

const workloadPodView = (s: SimStore, p: SimPod): NodePodView => {
  const kind = p.owner === undefined ? undefined : s.workloads.get(p.owner)?.ref.kind;
  return {
    namespace: p.namespace,
    name: p.name,
    nodeName: p.nodeName,
    labels: p.labels,
    annotations: p.annotations,
    ownerKind: kind === undefined ? undefined : OWNER_KINDS[kind],
    containers: p.containers,
    ready: p.ready,
    terminating: false,
  };
};

const daemonSetView = (d: SimDaemonSet): DaemonSetView => ({
  namespace: d.namespace,
  name: d.name,
  labels: d.labels,
  annotations: {},
  templateLabels: d.templateLabels,
  templateAnnotations: d.templateAnnotations,
  images: d.images,
  selector: d.selector,
  updateStrategy: d.updateStrategy,
  observed: true,
});

const imagesOf = (s: SimStore, kind: NodeAgentKind, version: string): Labels => ({
  [NODE_AGENT_CONTAINERS[kind]]: `${s.hub}/${IMAGES[kind]}:${version}`,
});

/** The ambient objects of one simulated cluster, with the indexes every read goes through. */
class AmbientObjects {
  readonly nodes = new Map<string, SimNode>();
  readonly daemonSets = new Map<string, SimDaemonSet>();
  readonly pods = new Map<string, SimAgentPod>();
  readonly podsByDaemonSet = new Map<string, Map<string, SimAgentPod>>();
  readonly podsByNode = new Map<string, Map<string, SimAgentPod>>();
  readonly waypoints: SimulatedWaypoints;
  readonly watchers = new Set<NodeChangeHandler>();
  readonly timers: TimerHandle[] = [];

  constructor(readonly s: SimStore) {
    this.waypoints = new SimulatedWaypoints(s);
  }

  /** every pod on the node: the node agents', the waypoints', the workloads' (from the store's node index) */
  podsOn(node: string): NodePodView[] {
    const { s } = this;
    return [
      ...[...(this.podsByNode.get(node)?.values() ?? [])].map(podView),
      ...this.waypoints.podsOn(node),
      ...s.podsOnNode(node).map((p) => workloadPodView(s, p)),
    ];
  }

  request(): void {
    if (this.s.closed) throw new ClusterAgentError(ClusterAgentErrorCode.Unavailable, 'simulated cluster is closed');
    this.s.stats.requests++;
  }

  nodeChanged(n: SimNode): void {
    if (this.watchers.size === 0) return;
    const view = nodeView(n);
    const targets = [...this.watchers];
    queueMicrotask(() => {
      for (const h of targets) if (this.watchers.has(h)) h(view);
    });
  }

  private index(p: SimAgentPod, present: boolean): void {
    const k = key(p.namespace, p.name);
    if (present) this.pods.set(k, p);
    else this.pods.delete(k);
    indexIn(this.podsByDaemonSet, p.daemonSet, k, present ? p : undefined);
    indexIn(this.podsByNode, p.nodeName, k, present ? p : undefined);
  }

  /** The DaemonSet's controller makes its pod on the node: Ready at once (at setup) or after the start time. */
  startPodOn(d: SimDaemonSet, node: string, images: Labels, startNow: boolean): void {
    const { s } = this;
    const p: SimAgentPod = {
      namespace: d.namespace,
      name: `${d.name}-${s.nextPodId()}`,
      nodeName: node,
      daemonSet: key(d.namespace, d.name),
      labels: d.templateLabels,
      containers: Object.entries(images).map(([name, image]) => ({ name, image })),
      ready: startNow,
    };
    s.stats.podsCreated++;
    this.index(p, true);
    if (startNow) return;
    this.timers.push(
      s.clock.setTimer(s.podStartMs, () => {
        if (!s.closed && this.pods.get(key(p.namespace, p.name)) === p) p.ready = true;
      }),
    );
  }

  /**
   * A deleted node-agent pod: its DaemonSet replaces it on a node that still exists, cordoned or not (its pods
   * tolerate `node.kubernetes.io/unschedulable`), from the template it has now.
   */
  removePod(p: SimAgentPod): void {
    this.index(p, false);
    const d = this.daemonSets.get(p.daemonSet);
    if (d !== undefined && this.nodes.has(p.nodeName)) this.startPodOn(d, p.nodeName, d.images, false);
  }
}

/** What a test or the demo does: create nodes, node agents and waypoints, update a template, watch nodes. */
function ambientKnobs(o: AmbientObjects): Omit<SimulatedAmbient, keyof AmbientPort> {
  const { s } = o;
  return {
    createNode(spec) {
      const n: SimNode = {
        name: spec.name,
        labels: { 'kubernetes.io/hostname': spec.name, ...spec.labels },
        annotations: {},
        unschedulable: false,
      };
      o.nodes.set(n.name, n);
      s.scheduler.addNode(n.name, true);
      for (const d of o.daemonSets.values()) o.startPodOn(d, n.name, d.images, true);
      return nodeView(n);
    },

    createNodeAgent(spec) {
      const { labels, annotations } = chartMetadata(spec);
      const namespace = spec.namespace ?? 'istio-system';
      const name = DAEMONSET_NAMES[spec.kind];
      const selector: Labels =
        spec.kind === NodeAgentKind.Ztunnel ? { app: 'ztunnel' } : { 'k8s-app': 'istio-cni-node' };
      const d: SimDaemonSet = {
        kind: spec.kind,
        namespace,
        name,
        labels: { ...labels },
        templateLabels: labels,
        templateAnnotations: annotations,
        images: imagesOf(s, spec.kind, spec.version),
        selector,
        updateStrategy: spec.updateStrategy ?? 'OnDelete',
        generation: 1,
      };
      o.daemonSets.set(key(namespace, name), d);
      const podImages = imagesOf(s, spec.kind, spec.podVersion ?? spec.version);
      for (const node of o.nodes.keys()) o.startPodOn(d, node, podImages, true);
      return daemonSetView(d);
    },

    setNodeAgentVersion(kind, version) {
      for (const d of o.daemonSets.values()) {
        if (d.kind !== kind) continue;
        d.images = imagesOf(s, kind, version);
        d.templateLabels = { ...d.templateLabels, [AmbientLabel.Version]: version };
        d.generation++;
      }
    },

    createWaypoint: (spec) => o.waypoints.create(spec),

    podsRunningOn: (node) => o.podsOn(node),

    watchNodes(handler) {
      o.watchers.add(handler);
      return () => o.watchers.delete(handler);
    },

    close() {
      for (const t of o.timers.splice(0)) t.cancel();
      o.waypoints.close();
      o.watchers.clear();
    },
  };
}

const notFound = (what: string): ClusterAgentError =>
  new ClusterAgentError(ClusterAgentErrorCode.NotFound, `${what} not found`, { what });

/** The `AmbientPort` calls, served from memory, each counted as a request; reads cost what they return. */
function ambientPort(o: AmbientObjects, workloadPods: WorkloadPodDeleter): AmbientPort {
  const { s } = o;
  const port: AmbientPort = {
    async listNodes() {
      o.request();
      s.stats.objectsVisited += o.nodes.size;
      return [...o.nodes.values()].map(nodeView);
    },

    async patchNode(name, patch) {
      o.request();
      s.stats.patches++;
      const n = o.nodes.get(name);
      if (n === undefined) throw notFound(`node ${name}`);
      const annotations = applyMapPatch(n.annotations, patch.annotations);
      const unschedulable = patch.unschedulable ?? n.unschedulable;
      if (annotations === n.annotations && unschedulable === n.unschedulable) return;
      n.annotations = annotations;
      n.unschedulable = unschedulable;
      // a cordoned node receives no new pod (ADR 0057)
      s.scheduler.setSchedulable(name, !unschedulable);
      o.nodeChanged(n);
    },

    async listDaemonSets() {
      o.request();
      // the node agents' DaemonSets only: the workloads' DaemonSets are no node agents (the agent would filter
      // them out), and listing them would walk every workload of the cluster
      return [...o.daemonSets.values()].map(daemonSetView);
    },

    async podsLabelled(namespace, labels) {
      o.request();
      const out: NodePodView[] = [];
      for (const d of o.daemonSets.values()) {
        if (d.namespace !== namespace || !Object.entries(labels).every(([k, v]) => d.templateLabels[k] === v)) continue;
        for (const p of o.podsByDaemonSet.get(key(d.namespace, d.name))?.values() ?? []) out.push(podView(p));
      }
      s.stats.objectsVisited += out.length;
      return [...out, ...o.waypoints.podsLabelled(namespace, labels)];
    },

    async podsOnNode(node) {
      o.request();
      const out = o.podsOn(node);
      s.stats.objectsVisited += out.length;
      return out;
    },

    async ambientNamespaces() {
      o.request();
      const out = new Set<string>();
      for (const [name, ns] of s.namespaces)
        if (ns.labels[AmbientLabel.DataplaneMode] === DATAPLANE_MODE_AMBIENT) out.add(name);
      return out;
    },

    async deletePod(namespace, name) {
      o.request();
      const p = o.pods.get(key(namespace, name));
      if (p !== undefined) {
        o.removePod(p);
        return 'deleted';
      }
      if (o.waypoints.delete(namespace, name) === 'deleted') return 'deleted';
      if (!workloadPods.has(namespace, name)) return 'absent';
      workloadPods.delete(namespace, name);
      return 'deleted';
    },

    async evictPod(namespace, name) {
      // the simulated cluster has no PodDisruptionBudgets: an eviction is a delete
      return (await port.deletePod(namespace, name)) === 'deleted' ? 'evicted' : 'absent';
    },

    async listWaypoints() {
      o.request();
      return o.waypoints.list();
    },

    async labelWaypoint(namespace, name, revision) {
      o.request();
      s.stats.patches++;
      if (!o.waypoints.has(namespace, name)) throw notFound(`waypoint ${namespace}/${name}`);
      o.waypoints.relabel(namespace, name, revision);
    },
  };
  return port;
}

export function simulatedAmbient(s: SimStore, workloadPods: WorkloadPodDeleter): SimulatedAmbient {
  const objects = new AmbientObjects(s);
  return { ...ambientKnobs(objects), ...ambientPort(objects, workloadPods) };
}
