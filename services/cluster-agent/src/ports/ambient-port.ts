import type { ContainerView, Labels } from './kubernetes-port.js';

// What ambient mode (ADR 0051) reads and writes beyond the agent's workloads: nodes (cordon, the step marks),
// the pods on a node (the node agent's, the ambient workloads' to drain), DaemonSets and waypoints.

/** A node as the ambient steps read it. */
export interface NodeView {
  readonly name: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  /** cordoned: `spec.unschedulable` */
  readonly unschedulable: boolean;
}

/** A pod as the ambient steps read it: where it runs and what it runs. */
export interface NodePodView {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string | undefined;
  readonly labels: Labels;
  /** absent where a reader does not need them (node waves read labels and images only) */
  readonly annotations?: Labels;
  /** the kind of its controller owner (`DaemonSet`, `ReplicaSet`, ...), when it has one */
  readonly ownerKind: string | undefined;
  readonly containers: readonly ContainerView[];
  readonly ready: boolean;
  readonly terminating: boolean;
}

/** A node agent DaemonSet as the ambient steps read it. */
export interface DaemonSetView {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly templateLabels: Labels;
  readonly templateAnnotations: Labels;
  readonly images: Labels;
  readonly selector: Labels;
  readonly updateStrategy: string;
  /** the controller has seen the current template (`status.observedGeneration` ≥ `metadata.generation`) */
  readonly observed: boolean;
}

/** A waypoint (`Gateway` labelled `istio.io/waypoint-for`). */
export interface WaypointView {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
}

/** A node patch: cordon or uncordon, and meshwave's step marks (`null` removes one). */
export interface NodePatch {
  readonly unschedulable?: boolean;
  readonly annotations?: Readonly<Record<string, string | null>>;
}

export interface AmbientPort {
  listNodes(): Promise<readonly NodeView[]>;
  patchNode(name: string, patch: NodePatch): Promise<void>;
  /** every DaemonSet of the cluster (node agents are recognised among them) */
  listDaemonSets(): Promise<readonly DaemonSetView[]>;
  /** the pods matching `labels` in `namespace` */
  podsLabelled(namespace: string, labels: Labels): Promise<readonly NodePodView[]>;
  /** the pods running on a node, in every namespace */
  podsOnNode(node: string): Promise<readonly NodePodView[]>;
  /** the names of the namespaces labelled `istio.io/dataplane-mode=ambient` */
  ambientNamespaces(): Promise<ReadonlySet<string>>;
  /** deletes a pod (its DaemonSet makes the next one); `absent` when it is gone already */
  deletePod(namespace: string, name: string): Promise<'deleted' | 'absent'>;
  /** evicts a pod through the Eviction API; `blocked` when a PodDisruptionBudget refuses it now */
  evictPod(namespace: string, name: string): Promise<'evicted' | 'absent' | 'blocked'>;
  /** waypoints of the cluster; none where the Gateway API is not installed */
  listWaypoints(): Promise<readonly WaypointView[]>;
  /** sets a waypoint's `istio.io/rev` label */
  labelWaypoint(namespace: string, name: string, revision: string): Promise<void>;
}
