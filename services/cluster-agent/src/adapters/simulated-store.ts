import { systemClock, type Clock, type TimerHandle } from '@meshwave/reconcile';
import {
  workloadRefKey,
  type Labels,
  type LeaseView,
  type NamespaceView,
  type PodView,
  type ResourceViews,
  type WatchEvent,
  type WatchHandler,
  type WatchedResource,
  type WorkloadRef,
  type WorkloadView,
} from '../ports/kubernetes-port.js';
import type { FaultTarget, PodAdmission, SimulatedClusterConfig, SimulatedFaults } from './simulated-types.js';

/** The simulated cluster's objects and the bookkeeping every part of it shares. */

export interface SimWorkload {
  readonly ref: WorkloadRef;
  labels: Labels;
  templateLabels: Labels;
  templateAnnotations: Labels;
  readonly selector: Labels;
  readonly replicas: number;
  generation: number;
  /** bumps with every template change; pods remember the one they were made from */
  templateGen: number;
  progressDeadlineExceeded: boolean;
  rv: number;
  timers: TimerHandle[];
}

export interface SimPod {
  readonly namespace: string;
  readonly name: string;
  labels: Labels;
  annotations: Labels;
  readonly owner: string | undefined;
  readonly templateGen: number;
  containers: { name: string; image: string }[];
  ready: boolean;
  restarts: number;
  crashLooping: boolean;
  rv: number;
}

export const targetMatches = (t: FaultTarget, ref: WorkloadRef | undefined, namespace: string): boolean =>
  t.namespace === namespace && (t.name === undefined || t.name === ref?.name);

export interface SimStore {
  readonly clock: Clock;
  readonly podStartMs: number;
  readonly deadlineMs: number;
  readonly hub: string;
  readonly defaultRevision: string;
  readonly installed: ReadonlySet<string> | undefined;
  faults: SimulatedFaults;
  admission: PodAdmission | undefined;
  closed: boolean;
  readonly namespaces: Map<string, { labels: Labels; rv: number }>;
  readonly workloads: Map<string, SimWorkload>;
  readonly pods: Map<string, SimPod>;
  readonly leases: Map<string, LeaseView>;
  readonly watchers: { [R in WatchedResource]: Set<WatchHandler<ResourceViews[R]>> };
  readonly stats: { requests: number; patches: number; podsCreated: number };
  /** the next resourceVersion (one counter for every kind, as etcd's revision) */
  nextRv(): number;
  /** a fresh pod name suffix */
  nextPodId(): string;
  emit<R extends WatchedResource>(resource: R, event: WatchEvent<ResourceViews[R]>): void;
  putPod(p: SimPod): void;
  removePod(p: SimPod): void;
  podsOf(w: SimWorkload): SimPod[];
  nsView(name: string, ns: { labels: Labels; rv: number }): NamespaceView;
  workloadView(w: SimWorkload): WorkloadView;
  podView(p: SimPod): PodView;
}

export function createSimStore(config: SimulatedClusterConfig): SimStore {
  let rvCounter = 1;
  let podCounter = 0;
  const watchers: SimStore['watchers'] = { namespaces: new Set(), workloads: new Set(), pods: new Set() };
  const pods = new Map<string, SimPod>();
  // Watch events are delivered asynchronously and in order, like a real watch stream: a handler never runs
  // inside the call that caused the change.
  const outbox: (() => void)[] = [];
  let flushing = false;
  const emit = <R extends WatchedResource>(resource: R, event: WatchEvent<ResourceViews[R]>): void => {
    if (watchers[resource].size === 0) return;
    const targets = [...watchers[resource]];
    outbox.push(() => {
      for (const h of targets) if (watchers[resource].has(h)) h(event);
    });
    if (!flushing) {
      flushing = true;
      queueMicrotask(() => {
        while (outbox.length > 0) outbox.shift()?.();
        flushing = false;
      });
    }
  };

  // Pods by owning workload, so a workload's status costs its own pods, not the cluster's.
  const podsByOwner = new Map<string, Map<string, SimPod>>();
  const putPod = (p: SimPod): void => {
    const key = `${p.namespace}/${p.name}`;
    pods.set(key, p);
    if (p.owner === undefined) return;
    let own = podsByOwner.get(p.owner);
    if (!own) podsByOwner.set(p.owner, (own = new Map()));
    own.set(key, p);
  };
  const removePod = (p: SimPod): void => {
    const key = `${p.namespace}/${p.name}`;
    pods.delete(key);
    if (p.owner !== undefined) podsByOwner.get(p.owner)?.delete(key);
  };
  const podsOf = (w: SimWorkload): SimPod[] => [...(podsByOwner.get(workloadRefKey(w.ref))?.values() ?? [])];

  return {
    clock: config.clock ?? systemClock,
    podStartMs: config.podStartMs ?? 2000,
    deadlineMs: (config.progressDeadlineSeconds ?? 600) * 1000,
    hub: config.proxyHub ?? 'docker.io/istio',
    defaultRevision: config.defaultRevision ?? 'default',
    installed: config.revisions ? new Set(config.revisions) : undefined,
    faults: config.faults ?? {},
    admission: config.admission,
    closed: false,
    namespaces: new Map(),
    workloads: new Map(),
    pods,
    leases: new Map(),
    watchers,
    stats: { requests: 0, patches: 0, podsCreated: 0 },
    nextRv: () => rvCounter++,
    nextPodId: () => (podCounter++).toString(36),
    emit,
    putPod,
    removePod,
    podsOf,
    nsView: (name, ns) => ({ name, labels: ns.labels, resourceVersion: String(ns.rv) }),
    workloadView: (w) => workloadView(podsOf, w),
    podView,
  };
}

const workloadView = (podsOf: (w: SimWorkload) => SimPod[], w: SimWorkload): WorkloadView => {
  const own = podsOf(w);
  return {
    ...w.ref,
    labels: w.labels,
    templateLabels: w.templateLabels,
    templateAnnotations: w.templateAnnotations,
    selector: w.selector,
    replicas: w.replicas,
    generation: w.generation,
    observedGeneration: w.generation,
    updatedReplicas: own.filter((p) => p.templateGen === w.templateGen).length,
    availableReplicas: own.filter((p) => p.ready).length,
    progressDeadlineExceeded: w.progressDeadlineExceeded,
    resourceVersion: String(w.rv),
  };
};

const podView = (p: SimPod): PodView => ({
  namespace: p.namespace,
  name: p.name,
  labels: p.labels,
  annotations: p.annotations,
  controlled: p.owner !== undefined,
  containers: p.containers,
  phase: 'Running',
  ready: p.ready,
  restarts: p.restarts,
  crashLooping: p.crashLooping,
  terminating: false,
  resourceVersion: String(p.rv),
});
