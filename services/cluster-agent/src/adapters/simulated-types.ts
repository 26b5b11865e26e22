import type { WorkloadKind } from '@meshwave/contracts';
import type { Clock } from '@meshwave/reconcile';
import type {
  KubernetesPort,
  Labels,
  NamespaceView,
  PodView,
  WorkloadRef,
  WorkloadView,
} from '../ports/kubernetes-port.js';
import type { GatewayDeploymentPort } from '../ports/gateway-port.js';
import type { SimulatedAmbient, SimulatedAmbientConfig } from './simulated-ambient-types.js';

/** Selects workloads a fault applies to: a namespace, optionally one workload in it. */
export interface FaultTarget {
  readonly namespace: string;
  readonly name?: string;
}

/** Misbehaviour the simulated cluster can show, to exercise failure paths. */
export interface SimulatedFaults {
  /** pods injected with `revision` never become Ready and report CrashLoopBackOff */
  readonly crashLoop?: readonly (FaultTarget & { readonly revision: string })[];
  /** pod start takes `factor` times longer */
  readonly slowRollout?: readonly (FaultTarget & { readonly factor: number })[];
  /** the injector of `revision` ships a proxy image of another version (`image`, default `0.0.0`) */
  readonly sidecarMismatch?: readonly (FaultTarget & { readonly revision: string; readonly version?: string })[];
  /**
   * Deployments held by a finalizer: a delete is accepted, but the Deployment and its pods stay until the fault is
   * lifted (the next delete then removes them), as a finalizer nobody clears holds an object in a real cluster
   */
  readonly finalizers?: readonly FaultTarget[];
}

/** A pod as the admission chain sees it before injection. */
export interface AdmissionPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  /** the workload whose template it came from, if any */
  readonly owner?: WorkloadRef;
}

/** Runs before the injector, as meshwave's webhook does in a real cluster; returns the pod to admit. */
export type PodAdmission = (pod: AdmissionPod) => AdmissionPod;

export interface SimulatedWorkloadSpec {
  readonly namespace: string;
  readonly kind?: WorkloadKind;
  readonly name: string;
  readonly replicas?: number;
  readonly labels?: Labels;
  readonly templateLabels?: Labels;
  readonly templateAnnotations?: Labels;
}

export interface SimulatedNamespaceSpec {
  readonly name: string;
  readonly labels?: Labels;
  readonly workloads?: readonly Omit<SimulatedWorkloadSpec, 'namespace'>[];
}

export interface SimulatedClusterConfig {
  readonly name?: string;
  /** drives pod starts and deadlines; default the system clock */
  readonly clock?: Clock;
  /** time one pod takes from creation to Ready, ms (default 2000) */
  readonly podStartMs?: number;
  /** Deployment `progressDeadlineSeconds` (default 600) */
  readonly progressDeadlineSeconds?: number;
  /** control-plane revisions installed; pods labelled for another revision get no sidecar. Default: any */
  readonly revisions?: readonly string[];
  /** revision `istio-injection=enabled` means (default `default`) */
  readonly defaultRevision?: string;
  /** image registry of the proxy (default `docker.io/istio`) */
  readonly proxyHub?: string;
  readonly namespaces?: readonly SimulatedNamespaceSpec[];
  readonly faults?: SimulatedFaults;
  readonly admission?: PodAdmission;
  /** nodes, node agents and waypoints of ambient mode (ADR 0051); absent: none */
  readonly ambient?: SimulatedAmbientConfig;
}

/** Port calls served so far, for benchmarks and the demo's counters. */
export interface SimulatedClusterStats {
  readonly requests: number;
  readonly patches: number;
  readonly podsCreated: number;
  /** workloads and pods the cluster's reads walked through (the indexed lookups included): what reads cost */
  readonly objectsVisited: number;
  /** workloads whose template's rollout is under way now (from the template change to its last old pod gone) */
  readonly restarting: number;
  /** the most `restarting` ever at once: what a maxUnavailable is judged against, from the apiserver's side */
  readonly peakRestarting: number;
}

/**
 * An in-memory cluster behind the same ports as the real one (the gateway canary's writes too), plus the knobs a
 * test or demo needs.
 */
export interface SimulatedCluster extends KubernetesPort, GatewayDeploymentPort {
  readonly name: string;
  /** ambient mode's port (nodes, node agents, waypoints) and its knobs: the agent's `ambient` (chart `ambient: true`) */
  readonly ambient: SimulatedAmbient;
  createNamespace(name: string, labels?: Labels): NamespaceView;
  /** creates a workload whose pods are running and Ready at once, injected as the labels say now */
  createWorkload(spec: SimulatedWorkloadSpec): WorkloadView;
  /** a pod without a controller */
  createBarePod(namespace: string, name: string, labels?: Labels): PodView;
  deletePod(namespace: string, name: string): void;
  setAdmission(admission: PodAdmission | undefined): void;
  setFaults(faults: SimulatedFaults): void;
  /**
   * Indexed reads for the demo's stand-ins and benchmarks, not apiserver calls (no request counted): the
   * namespace's workloads, or those of one name in it, at the cost of what they return.
   */
  workloadsIn(namespace: string, name?: string): WorkloadView[];
  /** the pods the workload owns, from the owner index ([] for an unknown workload) */
  podsOfWorkload(ref: WorkloadRef): PodView[];
  /**
   * For the demo's stand-in for Prometheus: per workload of the namespace (or of that name) with a Ready pod, its
   * Ready pods and how many run each injected revision (null: no sidecar). Costs a lookup per workload: the counts
   * are kept as pods come, go and become Ready, never counted from the pods.
   */
  servingPods(
    namespace: string,
    name?: string,
  ): { readonly name: string; readonly ready: number; readonly revisions: ReadonlyMap<string | null, number> }[];
  /**
   * A stamp whose `version` changes whenever what `servingPods(namespace, name)` answers may have changed (its
   * workloads' Ready pods by revision, or one of them put or removed), so a reader that keeps an answer re-reads
   * only what changed; undefined when no such workload exists (nothing to keep).
   */
  servingStamp(namespace: string, name?: string): { readonly version: number } | undefined;
  stats(): SimulatedClusterStats;
  /** stops every timer (pod starts, deadlines) */
  close(): void;
}
