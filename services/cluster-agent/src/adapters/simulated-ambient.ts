import { NodeAgentKind } from '@meshwave/contracts';
import { AmbientLabel, DATAPLANE_MODE_AMBIENT, IstioLabel, NODE_AGENT_CONTAINERS } from '@meshwave/istio';
import type { TimerHandle } from '@meshwave/reconcile';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import type { AmbientPort, DaemonSetView, NodePodView, NodeView, WaypointView } from '../ports/ambient-port.js';
import { applyMapPatch, type Labels } from '../ports/kubernetes-port.js';
import type { SimStore } from './simulated-store.js';

// Ambient mode on the simulated cluster (ADR 0051, issue 21): nodes, the istio-cni and ztunnel DaemonSets as
// Istio's charts write them (one pod per node, `OnDelete`), and waypoints, behind the agent's `AmbientPort`.
// Kept apart from the workloads: a node agent is never a workload (the agent filters it out of a real cluster's
// DaemonSets), so the workload lists, pod lists and watches do not show node agents, and clusters without nodes
// pay nothing. Every read is indexed: pods by DaemonSet and by node, so a pass costs what it returns.

/** A node of the simulated cluster. */
export interface SimulatedNodeSpec {
  readonly name: string;
  readonly labels?: Labels;
}

/** An istio-cni or ztunnel DaemonSet: its template on `version`, its pods (one per node) on `podVersion`. */
export interface SimulatedNodeAgentSpec {
  readonly kind: NodeAgentKind;
  /** default `istio-system` */
  readonly namespace?: string;
  /** the revision the template serves (istio-cni: label; ztunnel: annotation, as Istio's charts) */
  readonly revision?: string;
  /** the version of its pod template's image */
  readonly version: string;
  /** the version its pods run at start (default `version`): older once an operator updated the template */
  readonly podVersion?: string;
  /** default `OnDelete` */
  readonly updateStrategy?: 'OnDelete' | 'RollingUpdate';
}

export interface SimulatedWaypointSpec {
  readonly namespace: string;
  readonly name: string;
  readonly revision: string;
  /** `istio.io/waypoint-for` (default `service`) */
  readonly for?: string;
}

export interface SimulatedAmbientConfig {
  readonly nodes?: readonly SimulatedNodeSpec[];
  readonly nodeAgents?: readonly SimulatedNodeAgentSpec[];
  readonly waypoints?: readonly SimulatedWaypointSpec[];
}

/** A node change, as a watch would deliver it (after the call that made it). */
export type NodeChangeHandler = (node: NodeView) => void;

/** The ambient port of the simulated cluster, plus what a test or the demo does to it. */
export interface SimulatedAmbient extends AmbientPort {
  createNode(spec: SimulatedNodeSpec): NodeView;
  /** a DaemonSet with one Ready pod on every node (and on every node created later) */
  createNodeAgent(spec: SimulatedNodeAgentSpec): DaemonSetView;
  /** what `helm upgrade` does: the DaemonSet's template runs `version`; under `OnDelete` no pod changes */
  setNodeAgentVersion(kind: NodeAgentKind, version: string): void;
  createWaypoint(spec: SimulatedWaypointSpec): WaypointView;
  /** called for every change of a node (cordon, marks), asynchronously; returns how to stop */
  watchNodes(handler: NodeChangeHandler): () => void;
  /** stops the pod starts under way */
  close(): void;
}

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

export function simulatedAmbient(
  s: SimStore,
  workloadPods: {
    readonly has: (namespace: string, name: string) => boolean;
    delete(namespace: string, name: string): void;
  },
): SimulatedAmbient {
  const nodes = new Map<string, SimNode>();
  const daemonSets = new Map<string, SimDaemonSet>();
  const pods = new Map<string, SimAgentPod>();
  const podsByDaemonSet = new Map<string, Map<string, SimAgentPod>>();
  const podsByNode = new Map<string, Map<string, SimAgentPod>>();
  const waypoints = new Map<string, { namespace: string; name: string; labels: Labels }>();
  const watchers = new Set<NodeChangeHandler>();
  const timers: TimerHandle[] = [];

  const request = (): void => {
    if (s.closed) throw new ClusterAgentError(ClusterAgentErrorCode.Unavailable, 'simulated cluster is closed');
    s.stats.requests++;
  };
  const notFound = (what: string): ClusterAgentError =>
    new ClusterAgentError(ClusterAgentErrorCode.NotFound, `${what} not found`, { what });
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
  const nodeChanged = (n: SimNode): void => {
    if (watchers.size === 0) return;
    const view = nodeView(n);
    const targets = [...watchers];
    queueMicrotask(() => {
      for (const h of targets) if (watchers.has(h)) h(view);
    });
  };

  const putPod = (p: SimAgentPod | undefined, k: string, d: string, node: string): void => {
    if (p === undefined) pods.delete(k);
    else pods.set(k, p);
    indexIn(podsByDaemonSet, d, k, p);
    indexIn(podsByNode, node, k, p);
  };

  /** The DaemonSet's controller makes its pod on the node from the current template: Ready at once or after the start. */
  const startPodOn = (d: SimDaemonSet, node: string, images: Labels, startNow: boolean): void => {
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
    putPod(p, key(p.namespace, p.name), p.daemonSet, node);
    if (startNow) return;
    timers.push(
      s.clock.setTimer(s.podStartMs, () => {
        if (!s.closed && pods.get(key(p.namespace, p.name)) === p) p.ready = true;
      }),
    );
  };

  const removeAgentPod = (p: SimAgentPod): void => {
    putPod(undefined, key(p.namespace, p.name), p.daemonSet, p.nodeName);
    const d = daemonSets.get(p.daemonSet);
    // a DaemonSet replaces the pod of a node that still exists, whether or not the node is cordoned (its pods
    // tolerate `node.kubernetes.io/unschedulable`), from the template it has now
    if (d !== undefined && nodes.has(p.nodeName)) startPodOn(d, p.nodeName, d.images, false);
  };

  const ambient: SimulatedAmbient = {
    createNode(spec) {
      const n: SimNode = {
        name: spec.name,
        labels: { 'kubernetes.io/hostname': spec.name, ...spec.labels },
        annotations: {},
        unschedulable: false,
      };
      nodes.set(n.name, n);
      for (const d of daemonSets.values()) startPodOn(d, n.name, d.images, true);
      return nodeView(n);
    },

    createNodeAgent(spec) {
      const { labels, annotations } = chartMetadata(spec);
      const namespace = spec.namespace ?? 'istio-system';
      const name = DAEMONSET_NAMES[spec.kind];
      const image = (version: string): Labels => ({
        [NODE_AGENT_CONTAINERS[spec.kind]]: `${s.hub}/${IMAGES[spec.kind]}:${version}`,
      });
      const selector: Labels =
        spec.kind === NodeAgentKind.Ztunnel ? { app: 'ztunnel' } : { 'k8s-app': 'istio-cni-node' };
      const d: SimDaemonSet = {
        kind: spec.kind,
        namespace,
        name,
        labels: { ...labels },
        templateLabels: labels,
        templateAnnotations: annotations,
        images: image(spec.version),
        selector,
        updateStrategy: spec.updateStrategy ?? 'OnDelete',
        generation: 1,
      };
      daemonSets.set(key(namespace, name), d);
      const podImages = image(spec.podVersion ?? spec.version);
      for (const node of nodes.keys()) startPodOn(d, node, podImages, true);
      return daemonSetView(d);
    },

    setNodeAgentVersion(kind, version) {
      for (const d of daemonSets.values()) {
        if (d.kind !== kind) continue;
        d.images = { [NODE_AGENT_CONTAINERS[kind]]: `${s.hub}/${IMAGES[kind]}:${version}` };
        d.templateLabels = { ...d.templateLabels, [AmbientLabel.Version]: version };
        d.generation++;
      }
    },

    createWaypoint(spec) {
      const w = {
        namespace: spec.namespace,
        name: spec.name,
        labels: { [AmbientLabel.WaypointFor]: spec.for ?? 'service', [IstioLabel.Revision]: spec.revision },
      };
      waypoints.set(key(w.namespace, w.name), w);
      return { ...w };
    },

    watchNodes(handler) {
      watchers.add(handler);
      return () => watchers.delete(handler);
    },

    close() {
      for (const t of timers.splice(0)) t.cancel();
      watchers.clear();
    },

    async listNodes() {
      request();
      s.stats.objectsVisited += nodes.size;
      return [...nodes.values()].map(nodeView);
    },

    async patchNode(name, patch) {
      request();
      s.stats.patches++;
      const n = nodes.get(name);
      if (n === undefined) throw notFound(`node ${name}`);
      const annotations = applyMapPatch(n.annotations, patch.annotations);
      const unschedulable = patch.unschedulable ?? n.unschedulable;
      if (annotations === n.annotations && unschedulable === n.unschedulable) return;
      n.annotations = annotations;
      n.unschedulable = unschedulable;
      nodeChanged(n);
    },

    async listDaemonSets() {
      request();
      // the node agents' DaemonSets only: the workloads' DaemonSets are no node agents (the agent would filter
      // them out), and listing them would walk every workload of the cluster
      return [...daemonSets.values()].map(daemonSetView);
    },

    async podsLabelled(namespace, labels) {
      request();
      const out: NodePodView[] = [];
      for (const d of daemonSets.values()) {
        if (d.namespace !== namespace || !Object.entries(labels).every(([k, v]) => d.templateLabels[k] === v)) continue;
        for (const p of podsByDaemonSet.get(key(d.namespace, d.name))?.values() ?? []) out.push(podView(p));
      }
      s.stats.objectsVisited += out.length;
      return out;
    },

    async podsOnNode(node) {
      request();
      // the node agents' pods; the simulated workloads' pods are not placed on nodes (nothing to drain)
      const out = [...(podsByNode.get(node)?.values() ?? [])].map(podView);
      s.stats.objectsVisited += out.length;
      return out;
    },

    async ambientNamespaces() {
      request();
      const out = new Set<string>();
      for (const [name, ns] of s.namespaces)
        if (ns.labels[AmbientLabel.DataplaneMode] === DATAPLANE_MODE_AMBIENT) out.add(name);
      return out;
    },

    async deletePod(namespace, name) {
      request();
      const p = pods.get(key(namespace, name));
      if (p !== undefined) {
        removeAgentPod(p);
        return 'deleted';
      }
      if (!workloadPods.has(namespace, name)) return 'absent';
      workloadPods.delete(namespace, name);
      return 'deleted';
    },

    async evictPod(namespace, name) {
      // the simulated cluster has no PodDisruptionBudgets: an eviction is a delete
      return (await ambient.deletePod(namespace, name)) === 'deleted' ? 'evicted' : 'absent';
    },

    async listWaypoints() {
      request();
      return [...waypoints.values()].map((w) => ({ ...w }));
    },

    async labelWaypoint(namespace, name, revision) {
      request();
      s.stats.patches++;
      const w = waypoints.get(key(namespace, name));
      if (w === undefined) throw notFound(`waypoint ${namespace}/${name}`);
      w.labels = { ...w.labels, [IstioLabel.Revision]: revision };
    },
  };
  return ambient;
}
