import type { NodeAgentKind } from '@meshwave/contracts';
import type { AmbientPort, DaemonSetView, NodePodView, NodeView, WaypointView } from '../ports/ambient-port.js';
import type { Labels } from '../ports/kubernetes-port.js';

// What the simulated cluster's ambient mode (simulated-ambient.ts) is made of and what a test or the demo does to it.

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
  /** pods istiod runs for it (default 1) */
  readonly replicas?: number;
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
  /** a waypoint `Gateway`, and the Deployment istiod runs for it: `replicas` Ready pods on its revision */
  createWaypoint(spec: SimulatedWaypointSpec): WaypointView;
  /**
   * The pods on the node now (node agents', waypoints', workloads'), read at once for a test's or the demo's own
   * watch: no apiserver call, no request counted.
   */
  podsRunningOn(node: string): NodePodView[];
  /** called for every change of a node (cordon, marks), asynchronously; returns how to stop */
  watchNodes(handler: NodeChangeHandler): () => void;
  /** stops the pod starts under way */
  close(): void;
}
