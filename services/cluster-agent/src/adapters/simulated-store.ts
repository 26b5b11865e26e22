import { WorkloadKind } from '@meshwave/contracts';
import { injectedRevisionOf } from '@meshwave/istio';
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
import type {
  FaultTarget,
  PodAdmission,
  SimulatedClusterConfig,
  SimulatedClusterStats,
  SimulatedFaults,
} from './simulated-types.js';
import { SimScheduler } from './simulated-scheduler.js';

/** The simulated cluster's objects and the bookkeeping every part of it shares. */

export interface SimWorkload {
  readonly ref: WorkloadRef;
  labels: Labels;
  templateLabels: Labels;
  templateAnnotations: Labels;
  readonly selector: Labels;
  /** scaled by the gateway canary (simulated-gateways.ts) */
  replicas: number;
  generation: number;
  /** bumps with every template change; pods remember the one they were made from */
  templateGen: number;
  progressDeadlineExceeded: boolean;
  rv: number;
  timers: TimerHandle[];
  /** a rollout of its template is under way (counted in `stats.restarting` until its last old pod is gone) */
  rollingOut?: boolean;
}

export interface SimPod {
  readonly namespace: string;
  readonly name: string;
  labels: Labels;
  annotations: Labels;
  readonly owner: string | undefined;
  /** the node it runs on (ADR 0057); absent in a cluster without nodes */
  readonly nodeName?: string;
  readonly templateGen: number;
  containers: { name: string; image: string }[];
  ready: boolean;
  restarts: number;
  crashLooping: boolean;
  rv: number;
}

export const targetMatches = (t: FaultTarget, ref: WorkloadRef | undefined, namespace: string): boolean =>
  t.namespace === namespace && (t.name === undefined || t.name === ref?.name);

/** Bumped whenever what `servingPods` answers for its namespace or named workloads may have changed. */
export interface ServingStamp {
  readonly version: number;
}

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
  /** every workload by `workloadRefKey`; written only through `putWorkload`, which keeps the indexes */
  readonly workloads: ReadonlyMap<string, SimWorkload>;
  /** every pod by `namespace/name`; written only through `putPod` and `removePod`, which keep the indexes */
  readonly pods: ReadonlyMap<string, SimPod>;
  readonly leases: Map<string, LeaseView>;
  readonly watchers: { [R in WatchedResource]: Set<WatchHandler<ResourceViews[R]>> };
  readonly stats: { -readonly [K in keyof SimulatedClusterStats]: SimulatedClusterStats[K] };
  /** where new pods run: the nodes of ambient mode (simulated-ambient.ts) tell it which take pods */
  readonly scheduler: SimScheduler;
  /** the next resourceVersion (one counter for every kind, as etcd's revision) */
  nextRv(): number;
  /** a fresh pod name suffix */
  nextPodId(): string;
  emit<R extends WatchedResource>(resource: R, event: WatchEvent<ResourceViews[R]>): void;
  putWorkload(w: SimWorkload): void;
  /** a deleted workload (its pods are removed by the caller) */
  removeWorkload(w: SimWorkload): void;
  putPod(p: SimPod): void;
  removePod(p: SimPod): void;
  /** the workload's pods, from the owner index */
  podsOf(w: SimWorkload): SimPod[];
  /** the workload's Ready pods by injected revision (null: no sidecar), kept on every write; undefined: none */
  servingOf(w: SimWorkload): ReadonlyMap<string | null, number> | undefined;
  /** the pod's containers started and passed readiness (the only way a pod becomes Ready) */
  markReady(p: SimPod): void;
  /** the namespace's workloads (every workload when undefined; those of that name, of any kind, when named) */
  workloadsIn(namespace: string | undefined, name?: string): SimWorkload[];
  /** the namespace's pods (every pod when undefined), from the namespace index */
  podsIn(namespace: string | undefined): SimPod[];
  /** see `SimulatedCluster.servingStamp` */
  servingStamp(namespace: string, name?: string): ServingStamp | undefined;
  /** the workload and bare pods on a node, from the node index */
  podsOnNode(node: string): SimPod[];
  nsView(name: string, ns: { labels: Labels; rv: number }): NamespaceView;
  workloadView(w: SimWorkload): WorkloadView;
  podView(p: SimPod): PodView;
}

export function createSimStore(config: SimulatedClusterConfig): SimStore {
  let rvCounter = 1;
  let podCounter = 0;
  const watchers: SimStore['watchers'] = {
    namespaces: new Set(),
    workloads: new Set(),
    pods: new Set(),
    disruptionBudgets: new Set(),
    webhookConfigurations: new Set(),
  };
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
        // by index, emptied once drained: a burst of thousands of events costs no shift of the rest per event
        for (let i = 0; i < outbox.length; i++) outbox[i]!();
        outbox.length = 0;
        flushing = false;
      });
    }
  };

  const stats = { requests: 0, patches: 0, podsCreated: 0, objectsVisited: 0, restarting: 0, peakRestarting: 0 };
  const indexes = createSimIndexes(stats);

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
    ...indexes,
    leases: new Map(),
    watchers,
    stats,
    scheduler: new SimScheduler(),
    nextRv: () => rvCounter++,
    nextPodId: () => (podCounter++).toString(36),
    emit,
    nsView: (name, ns) => ({ name, labels: ns.labels, resourceVersion: String(ns.rv) }),
    workloadView: (w) => workloadView(indexes.podsOf, w),
    podView,
  };
}

/** What the store's indexes answer and keep; `stats.objectsVisited` counts what reads walk through. */
type SimIndexes = Pick<
  SimStore,
  | 'workloads'
  | 'pods'
  | 'putWorkload'
  | 'removeWorkload'
  | 'putPod'
  | 'removePod'
  | 'podsOf'
  | 'servingOf'
  | 'markReady'
  | 'workloadsIn'
  | 'podsIn'
  | 'servingStamp'
  | 'podsOnNode'
>;

function createSimIndexes(stats: SimStore['stats']): SimIndexes {
  const pods = new Map<string, SimPod>();
  // Indexes kept on every write, so a read costs what it returns, not the size of the cluster: pods by owning
  // workload and by namespace, workloads by namespace. `stats.objectsVisited` counts what reads walk through.
  const workloads = new Map<string, SimWorkload>();
  const workloadsByNs = new Map<string, Map<string, SimWorkload>>();
  const podsByOwner = new Map<string, Map<string, SimPod>>();
  const podsByNs = new Map<string, Map<string, SimPod>>();
  // pods by the node they run on, for a drain (ADR 0057); pods of a cluster without nodes are on none
  const podsByNode = new Map<string, Map<string, SimPod>>();
  // every kind of one name in a namespace (a Service's name), for a named target
  const workloadsByName = new Map<string, SimWorkload[]>();
  const stamps = createServingStamps(workloadsByName, workloadsByNs);
  const putWorkload = (w: SimWorkload): void => {
    const key = workloadRefKey(w.ref);
    const before = workloads.get(key);
    workloads.set(key, w);
    indexed(workloadsByNs, w.ref.namespace).set(key, w);
    renamed(workloadsByName, w.ref, before, w);
    stamps.changed(w.ref);
  };
  const removeWorkload = (w: SimWorkload): void => {
    const key = workloadRefKey(w.ref);
    workloads.delete(key);
    unindex(workloadsByNs, w.ref.namespace, key);
    renamed(workloadsByName, w.ref, w, undefined);
    stamps.changed(w.ref);
  };
  // Ready pods per owner by injected revision: what the demo's stand-in for Prometheus reads for every target of
  // every sample (81,000 targets in the fleet benchmark's last wave), at the cost of a lookup, not of the pods.
  const servingByOwner = new Map<string, Map<string | null, number>>();
  const serve = (p: SimPod, delta: 1 | -1): void => {
    if (p.owner === undefined || !p.ready) return;
    const revision = injectedRevisionOf(p.annotations);
    let counts = servingByOwner.get(p.owner);
    if (counts === undefined) servingByOwner.set(p.owner, (counts = new Map()));
    const n = (counts.get(revision) ?? 0) + delta;
    if (n > 0) counts.set(revision, n);
    else counts.delete(revision);
    if (counts.size === 0) servingByOwner.delete(p.owner);
    const w = workloads.get(p.owner);
    // a workload already removed has had its stamps bumped (and it is no longer listed)
    if (w !== undefined) stamps.changed(w.ref);
  };
  const putPod = (p: SimPod): void => {
    const key = `${p.namespace}/${p.name}`;
    const before = pods.get(key);
    if (before !== undefined) serve(before, -1);
    pods.set(key, p);
    indexed(podsByNs, p.namespace).set(key, p);
    if (p.owner !== undefined) indexed(podsByOwner, p.owner).set(key, p);
    if (p.nodeName !== undefined) indexed(podsByNode, p.nodeName).set(key, p);
    serve(p, 1);
  };
  const removePod = (p: SimPod): void => {
    const key = `${p.namespace}/${p.name}`;
    const stored = pods.get(key);
    if (stored !== undefined) serve(stored, -1);
    pods.delete(key);
    unindex(podsByNs, p.namespace, key);
    if (p.owner !== undefined) unindex(podsByOwner, p.owner, key);
    if (p.nodeName !== undefined) unindex(podsByNode, p.nodeName, key);
  };
  const markReady = (p: SimPod): void => {
    if (p.ready) return;
    p.ready = true;
    if (pods.get(`${p.namespace}/${p.name}`) === p) serve(p, 1);
  };
  const visit = <T>(objects: Iterable<T> | undefined): T[] => {
    const out = [...(objects ?? [])];
    stats.objectsVisited += out.length;
    return out;
  };
  const podsOf = (w: SimWorkload): SimPod[] => visit(podsByOwner.get(workloadRefKey(w.ref))?.values());
  const workloadsIn = (namespace: string | undefined, name?: string): SimWorkload[] => {
    if (namespace === undefined) return visit(workloads.values());
    if (name === undefined) return visit(workloadsByNs.get(namespace)?.values());
    return visit(workloadsByName.get(`${namespace}/${name}`));
  };
  const podsIn = (namespace: string | undefined): SimPod[] =>
    visit(namespace === undefined ? pods.values() : podsByNs.get(namespace)?.values());
  return {
    workloads,
    pods,
    putWorkload,
    removeWorkload,
    putPod,
    removePod,
    podsOf,
    servingOf: (w) => servingByOwner.get(workloadRefKey(w.ref)),
    markReady,
    workloadsIn,
    podsIn,
    servingStamp: stamps.stampOf,
    // counted by the ambient port's read, which adds the node agents' and waypoints' pods
    podsOnNode: (node) => [...(podsByNode.get(node)?.values() ?? [])],
  };
}

/**
 * The serving stamps of the names and namespaces asked for (only those: a cluster nobody samples keeps none). A
 * stamp is bumped on every change of its workloads' Ready pods by revision, and when one of them is put or
 * removed; it goes when its last workload does (bumped first, so a holder sees the change).
 */
function createServingStamps(
  byName: ReadonlyMap<string, readonly SimWorkload[]>,
  byNs: ReadonlyMap<string, ReadonlyMap<string, SimWorkload>>,
) {
  const stamps = new Map<string, { version: number }>();
  const bump = (key: string, live: boolean): void => {
    const stamp = stamps.get(key);
    if (stamp === undefined) return;
    stamp.version++;
    if (!live) stamps.delete(key);
  };
  return {
    changed(ref: WorkloadRef): void {
      if (stamps.size === 0) return;
      const named = `${ref.namespace}/${ref.name}`;
      bump(named, byName.has(named));
      bump(ref.namespace, byNs.has(ref.namespace));
    },
    /** undefined when nothing of that name (or namespace) exists: there is nothing to keep, nothing is cached */
    stampOf(namespace: string, name?: string): ServingStamp | undefined {
      const key = name === undefined ? namespace : `${namespace}/${name}`;
      if (!(name === undefined ? byNs.has(namespace) : byName.has(key))) return undefined;
      let stamp = stamps.get(key);
      if (stamp === undefined) stamps.set(key, (stamp = { version: 0 }));
      return stamp;
    },
  };
}

/** The order a named lookup answered in before it had an index: the kinds as declared. */
const KIND_ORDER: readonly string[] = Object.values(WorkloadKind);

/** The named index's entry for `ref`'s name: `gone` out of it, `added` into it, in `KIND_ORDER`. */
function renamed(
  byName: Map<string, SimWorkload[]>,
  ref: SimWorkload['ref'],
  gone: SimWorkload | undefined,
  added: SimWorkload | undefined,
): void {
  const named = `${ref.namespace}/${ref.name}`;
  const kinds = [...(byName.get(named) ?? []).filter((x) => x !== gone), ...(added ? [added] : [])];
  if (kinds.length === 0) byName.delete(named);
  else
    byName.set(
      named,
      kinds.sort((a, b) => KIND_ORDER.indexOf(a.ref.kind) - KIND_ORDER.indexOf(b.ref.kind)),
    );
}

function indexed<T>(index: Map<string, Map<string, T>>, key: string): Map<string, T> {
  let entries = index.get(key);
  if (!entries) index.set(key, (entries = new Map()));
  return entries;
}

// An emptied entry goes, so a namespace or workload that churns pods leaves nothing behind.
function unindex<T>(index: Map<string, Map<string, T>>, key: string, member: string): void {
  const entries = index.get(key);
  if (!entries) return;
  entries.delete(member);
  if (entries.size === 0) index.delete(key);
}

const workloadView = (podsOf: (w: SimWorkload) => SimPod[], w: SimWorkload): WorkloadView => {
  let updatedReplicas = 0;
  let availableReplicas = 0;
  for (const p of podsOf(w)) {
    if (p.templateGen === w.templateGen) updatedReplicas++;
    if (p.ready) availableReplicas++;
  }
  return {
    ...w.ref,
    labels: w.labels,
    templateLabels: w.templateLabels,
    templateAnnotations: w.templateAnnotations,
    selector: w.selector,
    replicas: w.replicas,
    generation: w.generation,
    observedGeneration: w.generation,
    updatedReplicas,
    availableReplicas,
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
